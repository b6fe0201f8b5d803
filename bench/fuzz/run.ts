/**
 * @module bench/fuzz/run
 * Sends fuzz cases to a running server and judges each answer: a success, or a documented
 * problem (application/problem+json whose `type` is one of src/problems/problem's, with that
 * type's status). A 5xx, an undocumented answer, or no answer within the bound is a
 * failure. After each class a valid verify must still answer correctly. Slow-loris bodies
 * (a few bytes at a time, bounded) are sent too: the client gives up at the bound and the
 * server must keep answering others.
 */
import { PROBLEMS } from '../../src/problems/problem.js';
import { type FuzzCase, multipart, RESULT } from './cases.js';

export interface FuzzOutcome {
  kind: string;
  name: string;
  status: number | 'timeout' | 'error';
  type?: string;
  ok: boolean;
  why?: string;
  ms: number;
}

const STATUS_OF_TYPE = new Map(Object.entries(PROBLEMS).map(([kind, p]) => [`/problems/${kind}`, p.status as number]));

/** Judge one answer. */
async function judge(res: Response): Promise<{ ok: boolean; type?: string; why?: string }> {
  if (res.status < 400) {
    await res.arrayBuffer();
    return { ok: res.status < 500 };
  }
  const contentType = res.headers.get('content-type') ?? '';
  const text = await res.text();
  if (!contentType.startsWith('application/problem+json'))
    return { ok: false, why: `${res.status} as ${contentType}: ${text.slice(0, 120)}` };
  let body: { type?: string; status?: number; detail?: string };
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, why: 'problem body is not JSON' };
  }
  const documented = body.type !== undefined && STATUS_OF_TYPE.get(body.type) === res.status;
  if (res.status >= 500) return { ok: false, type: body.type, why: `${res.status} ${body.type}: ${body.detail?.slice(0, 160)}` };
  if (/\bat [\w$.]+ \(|\/work\/|node_modules|\.ts:\d+/.test(text))
    return { ok: false, type: body.type, why: 'the problem leaks a stack trace or an internal path' };
  return documented
    ? { ok: true, type: body.type }
    : { ok: false, type: body.type, why: `undocumented problem ${body.type} with ${res.status}` };
}

export async function sendCase(
  base: string,
  auth: Record<string, string>,
  c: FuzzCase,
  timeoutMs: number,
  resultId = 'ab'.repeat(16),
): Promise<FuzzOutcome> {
  const t0 = performance.now();
  const headers = { ...auth, ...(c.headers ?? {}) };
  try {
    const res = await fetch(`${base}${c.path.replaceAll(RESULT, resultId).replaceAll(RESULT.toUpperCase(), resultId.toUpperCase())}`, {
      method: c.method,
      headers,
      body: c.body as BodyInit | undefined,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const verdict = await judge(res);
    return { kind: c.kind, name: c.name, status: res.status, ...verdict, ms: performance.now() - t0 };
  } catch (e) {
    const timeout = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
    return {
      kind: c.kind,
      name: c.name,
      status: timeout ? 'timeout' : 'error',
      ok: false,
      why: timeout ? `no answer in ${timeoutMs} ms` : String(e),
      ms: performance.now() - t0,
    };
  }
}

/**
 * A slow-loris body: `bytes` of a valid multipart verify body sent a few at a time every
 * `intervalMs`, for at most `boundMs`; `complete` sends all of it (slowly), otherwise the
 * client gives up at the bound. OK when the server answers a completed body properly, or
 * when an incomplete one is simply abandoned (the server must stay healthy: checked after).
 */
export async function sendSlowBody(
  base: string,
  auth: Record<string, string>,
  body: { body: Uint8Array; headers: Record<string, string> },
  { chunk, intervalMs, boundMs, complete }: { chunk: number; intervalMs: number; boundMs: number; complete: boolean },
): Promise<FuzzOutcome> {
  const t0 = performance.now();
  const name = `${chunk} B every ${intervalMs} ms, ${complete ? 'complete' : 'abandoned'} (bound ${boundMs} ms)`;
  const limit = complete ? body.body.length : Math.floor(body.body.length / 3);
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent >= limit) {
        if (complete) controller.close();
        else await new Promise((r) => setTimeout(r, intervalMs)); // abandoned: never closes; the client's bound aborts it
        return;
      }
      await new Promise((r) => setTimeout(r, intervalMs));
      const next = body.body.subarray(sent, Math.min(limit, sent + chunk));
      sent += next.length;
      controller.enqueue(next);
    },
  });
  try {
    const res = await fetch(`${base}/v1/verify`, {
      method: 'POST',
      headers: { ...auth, ...body.headers },
      body: stream,
      // @ts-expect-error Node's fetch needs duplex for a streamed body
      duplex: 'half',
      signal: AbortSignal.timeout(boundMs),
    });
    const verdict = await judge(res);
    return { kind: 'slow-loris body', name, status: res.status, ...verdict, ms: performance.now() - t0 };
  } catch (e) {
    const timeout = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
    // An abandoned body ends at the client's bound: that is the expected outcome.
    return {
      kind: 'slow-loris body',
      name,
      status: timeout ? 'timeout' : 'error',
      ok: timeout && !complete,
      ...(timeout && !complete ? {} : { why: String(e) }),
      ms: performance.now() - t0,
    };
  }
}

/** A multipart body of two aligned crops and extra fields. */
const cropsForm = ([a, b]: [Uint8Array, Uint8Array], extra: Record<string, string> = {}) =>
  multipart([
    { name: 'a', filename: 'a.png', type: 'image/png', data: a },
    { name: 'b', filename: 'b.png', type: 'image/png', data: b },
    { name: 'input', data: 'aligned-crop' },
    ...Object.entries(extra).map(([name, data]) => ({ name, data })),
  ]);

/** The health check after each class: a genuine pair of aligned crops must verify as accept. */
export async function validStillWorks(base: string, auth: Record<string, string>, a: Uint8Array, b: Uint8Array): Promise<boolean> {
  const { body, headers } = cropsForm([a, b]);
  const res = await fetch(`${base}/v1/verify`, {
    method: 'POST',
    headers: { ...auth, ...headers },
    body,
    signal: AbortSignal.timeout(60_000),
  });
  const json = (await res.json()) as { decision?: string };
  return res.status === 200 && json.decision === 'accept';
}

/** A stored explanation (the gradient baseline on two crops: seconds) whose maps the map cases attack. */
async function storedResult(base: string, auth: Record<string, string>, crops: [Uint8Array, Uint8Array]): Promise<string> {
  const { body, headers } = cropsForm(crops, { method: 'gradient' });
  const res = await fetch(`${base}/v1/explain`, {
    method: 'POST',
    headers: { ...auth, ...headers },
    body,
    signal: AbortSignal.timeout(300_000),
  });
  const json = (await res.json()) as { resultId?: string };
  if (res.status !== 200 || !json.resultId)
    throw new Error(`could not store a result for the map cases: ${res.status} ${JSON.stringify(json)}`);
  return json.resultId;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  failures: FuzzOutcome[];
  classes: { kind: string; cases: number; statuses: Record<string, number>; failures: number; validAfter: boolean }[];
  outcomes: FuzzOutcome[];
}

/** Run every case, class by class, with the health check after each class. */
export async function runFuzz(
  base: string,
  auth: Record<string, string>,
  cases: FuzzCase[],
  { seed, timeoutMs = 60_000, crops, slow = true }: { seed: number; timeoutMs?: number; crops: [Uint8Array, Uint8Array]; slow?: boolean },
): Promise<FuzzReport> {
  const resultId = await storedResult(base, auth, crops);
  const byKind = new Map<string, FuzzCase[]>();
  for (const c of cases) byKind.set(c.kind, [...(byKind.get(c.kind) ?? []), c]);
  const outcomes: FuzzOutcome[] = [];
  const classes: FuzzReport['classes'] = [];
  const record = async (kind: string, results: FuzzOutcome[]) => {
    outcomes.push(...results);
    const statuses: Record<string, number> = {};
    for (const r of results) statuses[String(r.status)] = (statuses[String(r.status)] ?? 0) + 1;
    classes.push({
      kind,
      cases: results.length,
      statuses,
      failures: results.filter((r) => !r.ok).length,
      validAfter: await validStillWorks(base, auth, ...crops),
    });
  };
  for (const [kind, group] of byKind) {
    const results: FuzzOutcome[] = [];
    for (const c of group) results.push(await sendCase(base, auth, c, timeoutMs, resultId));
    await record(kind, results);
  }
  if (slow) {
    const body = cropsForm(crops);
    const results = await Promise.all([
      sendSlowBody(base, auth, body, { chunk: 4096, intervalMs: 20, boundMs: 20_000, complete: true }),
      sendSlowBody(base, auth, body, { chunk: 16, intervalMs: 50, boundMs: 4000, complete: false }),
      sendSlowBody(base, auth, body, { chunk: 1, intervalMs: 200, boundMs: 4000, complete: false }),
    ]);
    await record('slow-loris body', results);
  }
  const failures = outcomes.filter((o) => !o.ok);
  return { seed, cases: outcomes.length, failures, classes, outcomes };
}
