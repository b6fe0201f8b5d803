/**
 * @module bench/jobs
 * `npm run bench:jobs`: explanation jobs end to end under `wrangler dev` (loopback), with a
 * real webhook receiver: a Node HTTP server on 127.0.0.1 that checks every delivery's
 * signature with the `standardwebhooks` package and notes when it arrived.
 *  - enqueue → delivered for a new pair (two bases computed, the served default mode) and
 *    for a cached pair (10 sequential jobs);
 *  - jobs per minute on one isolate: 30 cached-pair jobs submitted at once, until the last
 *    delivery.
 * Baseline in the same run: the same cached pair through synchronous /v1/explain.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { FACES_DIR } from '../eval/lib/faces.js';
import { fmt, machine, markdownTable, median, quantile, spliceBenchmarks, writeResults } from './lib/report.js';
import { startWranglerDev } from './lib/wrangler-dev.js';

const CACHED_RUNS = 10;
const BURST = 30;

async function main() {
  const [a, b] = ['amy/amy1.png', 'raj/raj2.png'].map((p) => readFileSync(join(FACES_DIR, 'bbt', p)));
  const arrivals = new Map<string, number>();
  let forged = 0;
  let secret = '';
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      try {
        const event = new Webhook(secret).verify(body, req.headers as Record<string, string>) as { data: { jobId: string } };
        if (!arrivals.has(event.data.jobId)) arrivals.set(event.data.jobId, performance.now());
        res.writeHead(204).end();
      } catch {
        forged++;
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const server = await startWranglerDev(8795);
  try {
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${server.url}${path}`, {
        ...init,
        headers: { ...server.auth, ...(init.headers ?? {}) },
        signal: AbortSignal.timeout(300_000),
      });
    secret = ((await (await api('/v1/webhook-secret')).json()) as { secrets: { secret: string }[] }).secrets[0]!.secret;
    const form = (withCallback: boolean) => {
      const fd = new FormData();
      fd.append('a', new File([a!], 'a.png'));
      fd.append('b', new File([b!], 'b.png'));
      fd.append('input', 'aligned-crop');
      if (withCallback) fd.append('callbackUrl', callbackUrl);
      return fd;
    };
    const submit = async () => {
      const res = await api('/v1/jobs', { method: 'POST', body: form(true) });
      if (res.status !== 202) throw new Error(`POST /v1/jobs answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    };
    const delivered = async (ids: string[], since: number) => {
      for (;;) {
        if (ids.every((id) => arrivals.has(id))) return Math.max(...ids.map((id) => arrivals.get(id)!)) - since;
        if (performance.now() - since > 600_000) throw new Error('deliveries did not all arrive within 10 minutes');
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const one = async () => {
      const t = performance.now();
      return delivered([await submit()], t);
    };

    const newPairMs = await one();
    console.log(`new pair: enqueue → delivered ${fmt(newPairMs)} ms`);
    const cached: number[] = [];
    for (let i = 0; i < CACHED_RUNS; i++) cached.push(await one());
    console.log(`cached pair: enqueue → delivered p50 ${fmt(median(cached))} ms`);
    const sync: number[] = [];
    for (let i = 0; i < CACHED_RUNS; i++) {
      const t = performance.now();
      const res = await api('/v1/explain', { method: 'POST', body: form(false) });
      await res.arrayBuffer();
      sync.push(performance.now() - t);
    }
    const t0 = performance.now();
    const burst = await Promise.all(Array.from({ length: BURST }, submit));
    const burstMs = await delivered(burst, t0);
    const perMinute = (BURST / burstMs) * 60_000;
    console.log(`burst of ${BURST}: ${fmt(burstMs)} ms, ${perMinute.toFixed(0)} jobs/min`);

    const result = {
      machine: machine(),
      newPairMs,
      cached: { runs: CACHED_RUNS, p50: median(cached), p95: quantile(cached, 0.95) },
      syncExplainCached: { runs: CACHED_RUNS, p50: median(sync) },
      burst: { jobs: BURST, ms: burstMs, jobsPerMinute: perMinute },
      forgedDeliveries: forged,
    };
    const path = writeResults('jobs', result);
    const table = markdownTable(
      ['measure', 'value'],
      [
        ['new pair (served default: two smoothed bases): enqueue → delivered', `${fmt(newPairMs)} ms`],
        [
          `cached pair: enqueue → delivered p50 / p95 (${CACHED_RUNS} sequential)`,
          `${fmt(result.cached.p50)} / ${fmt(result.cached.p95)} ms`,
        ],
        ['baseline: the same cached pair through synchronous /v1/explain p50', `${fmt(result.syncExplainCached.p50)} ms`],
        [
          `throughput: ${BURST} cached-pair jobs submitted at once`,
          `${fmt(burstMs)} ms to the last delivery, ${perMinute.toFixed(0)} jobs/min`,
        ],
        ['deliveries whose signature did not verify', String(forged)],
      ],
    );
    spliceBenchmarks(
      'jobs',
      `${table}\n\n_Jobs of two 150×150 crops with a callback to a Node receiver on 127.0.0.1, loopback \`wrangler dev\` (local Workflows, D1, R2), ${result.machine.date.slice(0, 10)}. Reproduce: \`npm run bench:jobs\`._`,
    );
    console.log(`\n${table}\nwrote ${path}`);
  } finally {
    await server.stop();
    receiver.close();
  }
}

await main();
