/**
 * @module bench/load
 * `npm run bench:load`: closed-loop load on `wrangler dev` over loopback. For each phase,
 * `--concurrency` clients (default 32) send requests back to back for `--seconds` (default
 * 60), each with a 60 s deadline (a request past it counts as a hang):
 *   - healthz: the baseline of this run (the same machine, the same moment);
 *   - verify crops: two 150×150 PNG crops per request, rotating over BBT pairs;
 *   - verify photos: two 1–3 MP JPEG photos per request;
 *   - explain cached: a pair whose bases are cached (FGGB default);
 *   - mixed: verify crops and cached explanations while new pairs are explained one after
 *     the other (new bases computing on the same isolate).
 * Reported per phase: throughput, p50/p95/p99, answers by status, 503 `busy` (with
 * Retry-After) apart from other errors, hangs, and the isolate's memory over the run (JS
 * heap + ArrayBuffers sampled over the inspector each second, plus the wasm heap; the
 * workerd process's RSS). Writes bench/results/load.json and the table in docs/benchmarks.md.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FACES_DIR } from '../eval/lib/faces.js';
import { connectInspector } from './lib/inspector.js';
import { multipart } from './lib/multipart.js';
import { fmt, machine, markdownTable, quantile, spliceBenchmarks, writeResults } from './lib/report.js';
import { startWranglerDev } from './lib/wrangler-dev.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const SECONDS = arg('seconds', 60);
const CONCURRENCY = arg('concurrency', 32);
const DEADLINE_MS = 60_000;
const MB = 2 ** 20;

interface Body {
  body: Buffer;
  type: string;
}

interface PhaseResult {
  phase: string;
  seconds: number;
  requests: number;
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
  statuses: Record<string, number>;
  busy: number;
  busyWithRetryAfter: number;
  otherErrors: number;
  hangs: number;
  memory: {
    peakIsolateMB: number;
    atPeak: { jsHeapMB: number; arrayBuffersMB: number; wasmHeapMB: number };
    /** After the phase, a full GC: what stayed live (a leak shows here). */
    liveAfterMB: number;
    peakRssMB: number;
    samples: number;
  };
  /** The mixed phase: new pairs explained meanwhile. */
  newPairs?: { explained: number; medianMs: number };
}

const bbt = (p: string) => readFileSync(join(FACES_DIR, 'bbt', p));
const PEOPLE = ['amy', 'raj', 'penny', 'sheldon', 'leonard', 'howard', 'bernadette', 'stuart'];

async function main() {
  const cropBodies: Body[] = PEOPLE.slice(0, 4).map((p, i) =>
    multipart(bbt(`${p}/${p}2.png`), bbt(`${PEOPLE[(i + 1) % 4]}/${PEOPLE[(i + 1) % 4]}3.png`)),
  );
  const photosDir = join(FACES_DIR, 'photos', 'single');
  const photoFiles = readdirSync(photosDir).filter((f) => /^obama_[13]\.jpg$/.test(f));
  if (photoFiles.length !== 2) throw new Error(`bench:load needs ${photosDir}/obama_1.jpg and obama_3.jpg`);
  const photoBody = multipart(readFileSync(join(photosDir, photoFiles[0]!)), readFileSync(join(photosDir, photoFiles[1]!)), 'photo');
  const cachedPair = multipart(bbt('amy/amy1.png'), bbt('raj/raj2.png'));

  const inspectorPort = 9236;
  const server = await startWranglerDev(8796, { inspectorPort });
  const inspector = await connectInspector(inspectorPort);
  const post = (path: string, { body, type }: Body, signal?: AbortSignal) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': type, ...server.auth },
      body: new Uint8Array(body),
      signal,
    });
  // After an overloaded phase the isolate may take a while to answer again: try for 3 minutes.
  const wasmHeapMB = async () => {
    for (let attempt = 0; attempt < 6; attempt++) {
      try {
        const res = await fetch(`${server.url}/v1/models`, { headers: server.auth, signal: AbortSignal.timeout(30_000) });
        if (res.ok) return (((await res.json()) as { runtime: { wasmHeapBytes: number | null } }).runtime.wasmHeapBytes ?? 0) / MB;
      } catch {
        /* not answering yet */
      }
    }
    return Number.NaN;
  };
  const rssMB = () =>
    server
      .workerdPids()
      .map((pid) => {
        try {
          return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
        } catch {
          return 0;
        }
      })
      .reduce((a, b) => a + b, 0);

  /** `CONCURRENCY` clients sending `next()`'s request back to back for SECONDS; `background` runs beside them. */
  async function phase(
    name: string,
    next: (i: number) => Promise<Response>,
    background?: (until: number) => Promise<PhaseResult['newPairs']>,
  ) {
    const latencies: number[] = [];
    const statuses: Record<string, number> = {};
    let busy = 0;
    let busyWithRetryAfter = 0;
    let hangs = 0;
    const t0 = performance.now();
    const until = t0 + SECONDS * 1000;
    let sampling = true;
    const samples: { js: number; buffers: number }[] = [];
    let peakRss = 0;
    const sampler = (async () => {
      while (sampling) {
        const u = await inspector.heapUsage();
        if (u) samples.push({ js: u.usedSize, buffers: u.backingStorageSize ?? 0 });
        peakRss = Math.max(peakRss, rssMB());
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    let counter = 0;
    const client = async () => {
      while (performance.now() < until) {
        const t = performance.now();
        try {
          const res = await next(counter++);
          if (res.status !== 503) await res.arrayBuffer();
          latencies.push(performance.now() - t);
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          if (res.status === 503) {
            // Ours: a `busy` problem. Anything else answering 503 (wrangler dev's "Your
            // worker restarted mid-request") is an error.
            const problem = (res.headers.get('content-type') ?? '').startsWith('application/problem+json')
              ? ((await res.json()) as { type?: string })
              : undefined;
            if (problem?.type === '/problems/busy') {
              busy++;
              if (Number(res.headers.get('retry-after')) > 0) busyWithRetryAfter++;
            } else statuses['503 other'] = (statuses['503 other'] ?? 0) + 1;
          }
        } catch (e) {
          if ((e as Error).name === 'TimeoutError') hangs++;
          else statuses.network = (statuses.network ?? 0) + 1;
        }
      }
    };
    const [newPairs] = await Promise.all([background?.(until), ...Array.from({ length: CONCURRENCY }, client)]);
    const seconds = (performance.now() - t0) / 1000;
    sampling = false;
    await sampler;
    const wasm = await wasmHeapMB();
    const nudge = () => fetch(`${server.url}/healthz`).then((r) => r.arrayBuffer());
    const collected = await inspector.collectGarbage(nudge);
    const after = collected ? await inspector.heapUsage() : undefined;
    const liveAfterMB = after ? (after.usedSize + (after.backingStorageSize ?? 0)) / MB + wasm : Number.NaN;
    const peak = samples.reduce((x, y) => (y.js + y.buffers > x.js + x.buffers ? y : x), { js: 0, buffers: 0 });
    const ok = (statuses[200] ?? 0) + (statuses[201] ?? 0);
    const result: PhaseResult = {
      phase: name,
      seconds,
      requests: latencies.length,
      perSecond: latencies.length / seconds,
      p50: quantile(latencies, 0.5),
      p95: quantile(latencies, 0.95),
      p99: quantile(latencies, 0.99),
      statuses,
      busy,
      busyWithRetryAfter,
      otherErrors: latencies.length - ok - busy + (statuses.network ?? 0),
      // (4xx answers count as errors too: every request of a phase is valid.)
      hangs,
      memory: {
        peakIsolateMB: (peak.js + peak.buffers) / MB + wasm,
        atPeak: { jsHeapMB: peak.js / MB, arrayBuffersMB: peak.buffers / MB, wasmHeapMB: wasm },
        liveAfterMB,
        peakRssMB: peakRss,
        samples: samples.length,
      },
      ...(newPairs ? { newPairs } : {}),
    };
    console.log(
      `${name}: ${result.requests} in ${fmt(seconds)} s (${result.perSecond.toFixed(1)}/s), p50 ${fmt(result.p50)} p95 ${fmt(result.p95)} p99 ${fmt(result.p99)} ms, statuses ${JSON.stringify(statuses)}, hangs ${hangs}, isolate peak ${result.memory.peakIsolateMB.toFixed(1)} MB (live after ${liveAfterMB.toFixed(1)} MB), RSS ${peakRss.toFixed(0)} MB`,
    );
    return result;
  }

  const results: PhaseResult[] = [];
  try {
    // Warm: the models load, and the cached pair's bases are computed once.
    const warm = await post('/v1/explain', cachedPair, AbortSignal.timeout(300_000));
    if (warm.status !== 200) throw new Error(`warm-up explain answered ${warm.status}: ${await warm.text()}`);
    const deadline = () => AbortSignal.timeout(DEADLINE_MS);
    results.push(await phase('healthz (baseline)', () => fetch(`${server.url}/healthz`, { signal: deadline() })));
    results.push(await phase('verify, crops', (i) => post('/v1/verify', cropBodies[i % cropBodies.length]!, deadline())));
    results.push(await phase('verify, photos', () => post('/v1/verify', photoBody, deadline())));
    results.push(await phase('explain, cached pair', () => post('/v1/explain', cachedPair, deadline())));
    // New pairs, one after another, for as long as the phase runs (pairs of unseen images).
    const fresh = PEOPLE.flatMap((p) => [1, 4, 5].map((n) => `${p}/${p}${n}.png`));
    const newPairs = async (until: number) => {
      const ms: number[] = [];
      for (let i = 0; performance.now() < until && i + 1 < fresh.length; i += 2) {
        const t = performance.now();
        const res = await post('/v1/explain', multipart(bbt(fresh[i]!), bbt(fresh[i + 1]!)), AbortSignal.timeout(300_000));
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`new pair answered ${res.status}`);
        ms.push(performance.now() - t);
      }
      return { explained: ms.length, medianMs: quantile(ms, 0.5) };
    };
    results.push(
      await phase(
        'mixed: verify crops + cached explain, new bases computing',
        (i) => (i % 2 ? post('/v1/explain', cachedPair, deadline()) : post('/v1/verify', cropBodies[i % cropBodies.length]!, deadline())),
        newPairs,
      ),
    );
  } finally {
    inspector.close();
    await server.stop();
  }

  const base = results[0]!;
  const out = { machine: machine(), seconds: SECONDS, concurrency: CONCURRENCY, deadlineMs: DEADLINE_MS, phases: results };
  const path = writeResults('load', out);
  const table = markdownTable(
    [
      'phase',
      'req/s',
      'p50 / p95 / p99 ms',
      'p50 × healthz',
      '200',
      '503 busy (with Retry-After)',
      'other errors',
      'hangs',
      'isolate peak MB, garbage included (JS + buffers + wasm)',
      'live after a GC MB',
      'workerd RSS MB',
    ],
    results.map((r) => [
      r.phase + (r.newPairs ? ` (${r.newPairs.explained} new pairs explained, median ${fmt(r.newPairs.medianMs)} ms)` : ''),
      r.perSecond.toFixed(1),
      `${fmt(r.p50)} / ${fmt(r.p95)} / ${fmt(r.p99)}`,
      (r.p50 / base.p50).toFixed(0),
      r.statuses[200] ?? 0,
      `${r.busy} (${r.busyWithRetryAfter})`,
      r.otherErrors,
      r.hangs,
      `${r.memory.peakIsolateMB.toFixed(0)} (${r.memory.atPeak.jsHeapMB.toFixed(0)} + ${r.memory.atPeak.arrayBuffersMB.toFixed(0)} + ${r.memory.atPeak.wasmHeapMB.toFixed(0)})`,
      r.memory.liveAfterMB.toFixed(0),
      r.memory.peakRssMB.toFixed(0),
    ]),
  );
  spliceBenchmarks(
    'load',
    `${table}\n\n_${CONCURRENCY} clients back to back for ${SECONDS} s per phase, loopback, one \`wrangler dev\` isolate, ${out.machine.date.slice(0, 10)}; latencies of answered requests; a hang is a request unanswered after ${DEADLINE_MS / 1000} s. Reproduce: \`npm run bench:load\` (\`-- --seconds 10\` for a short run)._`,
  );
  console.log(`wrote ${path}`);
}

await main();
