/**
 * @module api/middleware/meter
 * Rate limits, credit and idempotency around a route, through the tenant's Durable Object
 * (accounts/account-object): one call admits the request (token bucket → Idempotency-Key →
 * reservation of the most the operation can cost), one settles it after the route (the
 * ledger entry, at what it actually cost) or refunds it when the route failed. RateLimit
 * headers go on every answer. A POST with `Idempotency-Key` replays the stored response of
 * the first request with that key and body (charged once), 422 for another body, 409
 * while the first still runs.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { type Admission, accountOf, idempotencyResponseKey, JOB_HOLD_MS } from '../../accounts/account.js';
import { maxUnits, type Operation } from '../../accounts/prices.js';
import { rateLimitHeaders } from '../../accounts/rate-limit.js';
import { ProblemError } from '../../problems/problem.js';
import { sha256Hex } from '../../sha256.js';
import type { AppEnv } from '../context.js';
import { appendServerTiming, formDataOnce } from '../request-body.js';

/** `Idempotency-Key` is a structured-field string (`"…"`); a bare token is accepted too. */
function idempotencyKey(c: Context<AppEnv>): string | undefined {
  const raw = c.req.header('idempotency-key');
  if (raw === undefined) return undefined;
  const key = /^"(.*)"$/.exec(raw.trim())?.[1] ?? raw.trim();
  if (!/^[\x21-\x7e]{1,255}$/.test(key) || key.includes('"'))
    throw new ProblemError('invalid-request', 'Idempotency-Key must be 1–255 printable ASCII characters, e.g. "4f1c…" (a UUID)');
  return key;
}

/**
 * What identifies "the same request" for an idempotency key: method, path, media type and
 * content. A multipart body is fingerprinted by its fields (names, values, file bytes),
 * not its bytes: a client sending the same files again picks a new boundary.
 */
async function fingerprint(c: Context<AppEnv>): Promise<string> {
  const type = c.req.header('content-type') ?? '';
  let content: string;
  if (/^multipart\/form-data/i.test(type)) {
    const fields: string[] = [];
    for (const [name, value] of await formDataOnce(c)) {
      const bytes = typeof value === 'string' ? value : new Uint8Array(await value.arrayBuffer());
      fields.push(`${name.length}:${name}=${typeof value === 'string' ? 's' : 'f'}${await sha256Hex(bytes)}`);
    }
    content = fields.join('\n');
  } else {
    content = await sha256Hex(new Uint8Array(await c.req.arrayBuffer())); // kept by Hono for the JSON validator
  }
  return sha256Hex(`${c.req.method} ${new URL(c.req.url).pathname} ${type.split(';')[0]!.trim().toLowerCase()}\n${content}`);
}

function refusal(admission: Admission, headers: Record<string, string>): ProblemError | undefined {
  switch (admission.outcome) {
    case 'rate-limited':
      return new ProblemError(
        'rate-limited',
        `rate limit reached; retry in ${admission.rate.retryAfterSeconds} s`,
        {},
        { ...headers, 'Retry-After': String(admission.rate.retryAfterSeconds) },
      );
    case 'insufficient-credit':
      return new ProblemError(
        'insufficient-credit',
        `this call may cost ${admission.needed} units and the balance is ${admission.available}`,
        { needed: admission.needed, available: admission.available },
        headers,
      );
    case 'idempotency-conflict':
      return new ProblemError('idempotency-conflict', 'this Idempotency-Key was used with another request', {}, headers);
    case 'idempotency-in-flight':
      return new ProblemError(
        'idempotency-in-flight',
        'the first request with this Idempotency-Key is still running',
        {},
        {
          ...headers,
          'Retry-After': '1',
        },
      );
    default:
      return undefined;
  }
}

/**
 * Middleware: run the route inside the caller's tenant account (the caller is set by
 * middleware/authenticate or an inbound webhook's source): rate limit every call; for an
 * `operation`, reserve its price first and settle or refund after. `null` meters nothing
 * but the rate limit. The key's own D1 check (`keyCheck`), still running when the key was
 * known to this isolate, is awaited beside the account's admission: the request fails (its
 * reservation refunded) if it does. The idempotency key is the client's `Idempotency-Key`,
 * or the one the route made itself (`ownIdempotencyKey`, an inbound webhook's id).
 */
export const meter =
  (operation: Operation | null): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    const t0 = performance.now();
    const caller = c.get('caller');
    if (!caller) throw new Error('meter runs after the caller is known');
    const verified = c.get('keyCheck') ?? Promise.resolve();
    const ownIdempotencyKey = c.get('ownIdempotencyKey');
    const key = ownIdempotencyKey ?? (c.req.method === 'POST' ? idempotencyKey(c) : undefined);
    const idempotency = key ? { keyHash: await sha256Hex(key), fingerprint: await fingerprint(c) } : undefined;
    // Made here, never taken from the client; unique across tenants (the D1 ledger's key).
    const ledgerId = `req-${crypto.randomUUID()}`;
    const units = operation ? maxUnits(operation) : 0;
    const account = accountOf(c.env, caller.tenantId);
    const [admission, invalid] = await Promise.all([
      account.admit({
        tenantId: caller.tenantId,
        keyId: caller.keyId,
        rate: caller.rate,
        units,
        ledgerId,
        idempotency,
        // A job's reservation waits for its Workflow, which may queue behind other jobs.
        holdMs: operation === 'job' ? JOB_HOLD_MS : undefined,
      }),
      verified.then(
        () => undefined,
        (e: unknown) => e,
      ),
    ]);
    if (invalid) {
      if (admission.outcome === 'admitted') await account.refund(ledgerId);
      throw invalid;
    }
    const headers = rateLimitHeaders(caller.rate, admission.rate);
    const refused = refusal(admission, headers);
    if (refused) throw refused;
    if (admission.outcome === 'replay') {
      const stored = await c.env.DATA.get(idempotencyResponseKey(caller.tenantId, admission.keyHash));
      if (!stored)
        throw new ProblemError('idempotency-in-flight', 'the stored response is not readable yet', {}, { ...headers, 'Retry-After': '1' });
      return new Response(stored.body, {
        status: Number(stored.customMetadata?.status ?? 200),
        headers: { ...headers, 'Content-Type': stored.httpMetadata?.contentType ?? 'application/json', 'Idempotent-Replayed': 'true' },
      });
    }
    const admitMs = performance.now() - t0;
    c.set('ledgerId', ledgerId);

    await next();

    const t1 = performance.now();
    if (units > 0 || idempotency) {
      const log = (what: string) => (e: unknown) =>
        console.error(JSON.stringify({ requestId: c.get('requestId'), ledgerId, error: `${what} failed: ${String(e)}` }));
      let close: Promise<unknown>;
      if (c.res.status < 400) {
        if (idempotency) {
          // Stored before the key is marked done, so a replay always finds it.
          const copy = c.res.clone();
          await c.env.DATA.put(idempotencyResponseKey(caller.tenantId, idempotency.keyHash), copy.body, {
            httpMetadata: { contentType: copy.headers.get('content-type') ?? 'application/json' },
            customMetadata: { status: String(copy.status), ledgerId },
          });
        }
        const entry = {
          id: ledgerId,
          tenantId: caller.tenantId,
          keyId: caller.keyId,
          operation: operation ?? 'verify',
          units: c.get('billedUnits') ?? units,
          at: Date.now(),
          requestId: c.get('requestId') ?? null,
        };
        // The work is done and answered: a failed settlement is logged, never turned into an
        // error (its reservation is given back after 15 minutes; docs/billing.md). A job's
        // reservation stays held for its Workflow to settle; only its key is marked done.
        close = c.get('settledLater')
          ? account.idempotencyDone(ledgerId).catch(log('idempotency'))
          : account.settle(entry).catch(log('settle'));
      } else {
        close = account.refund(ledgerId).catch(log('refund'));
      }
      // The reservation already covers the most the call can cost, so the answer need not
      // wait for its settlement; an Idempotency-Key's does (a replay must find it done).
      if (idempotency || !afterResponse(c, close)) await close;
    }
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
    appendServerTiming(c.res, 'account', admitMs + performance.now() - t1);
    return undefined;
  };

/** Run `work` after the response (waitUntil); false when there is no execution context. */
function afterResponse(c: Context<AppEnv>, work: Promise<unknown>): boolean {
  try {
    c.executionCtx.waitUntil(work);
    return true;
  } catch {
    return false;
  }
}
