/**
 * @module bench/accounts
 * `npm run bench:accounts`: what API keys, metering and rate limiting add to a request, on
 * a warm isolate under `wrangler dev` (loopback, real local D1 and Durable Objects).
 *  - sequential: 200 POST /v1/verify of two crops; the server reports, per request, the key
 *    check before the account call (`auth`: SHA-256 and compare, plus the D1 lookup on a
 *    key's first use in the isolate) and the wait for the account (`account`: the Durable
 *    Object's admit, beside the D1 revocation check) in Server-Timing (settlement runs after
 *    the response and is not in it);
 *  - concurrency 32: the same request from 32 connections for 20 s (autocannon), the same
 *    figures from every answer.
 * Baseline in the same run: the verify's own server time (`total` in Server-Timing), so
 * the added cost is reported as milliseconds and as a share of a verify.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { FACES_DIR } from '../eval/lib/faces.js';
import { fmt, machine, markdownTable, median, quantile, spliceBenchmarks, writeResults } from './lib/report.js';
import { multipart } from './lib/multipart.js';
import { startWranglerDev } from './lib/wrangler-dev.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const CONNECTIONS = 32;
const DURATION_S = 20;

/** `auth`, `account` and `total` durations from a Server-Timing header. */
function serverTimes(header: string | null | undefined): { auth: number; account: number; total: number } {
  const dur = (name: string) => Number(new RegExp(`(?:^|, )${name};dur=([0-9.]+)`).exec(header ?? '')?.[1] ?? Number.NaN);
  return { auth: dur('auth'), account: dur('account'), total: dur('total') };
}

const stats = (v: number[]) => ({ p50: median(v), p95: quantile(v, 0.95) });

async function main() {
  const { body, type } = multipart(
    readFileSync(join(FACES_DIR, 'bbt', 'amy', 'amy1.png')),
    readFileSync(join(FACES_DIR, 'bbt', 'raj', 'raj2.png')),
  );
  const server = await startWranglerDev(8796);
  try {
    const verify = async () => {
      const t = performance.now();
      const res = await fetch(`${server.url}/v1/verify`, {
        method: 'POST',
        headers: { 'content-type': type, ...server.auth },
        body: new Uint8Array(body),
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`verify answered ${res.status}`);
      return { ms: performance.now() - t, ...serverTimes(res.headers.get('server-timing')) };
    };
    for (let i = 0; i < 10; i++) await verify(); // warm: engine loaded, the tenant's object created
    const seq = [];
    for (let i = 0; i < RUNS; i++) seq.push(await verify());
    const added = seq.map((r) => r.auth + r.account);
    console.log(`sequential: verify p50 ${fmt(median(seq.map((r) => r.ms)))} ms, auth + account p50 ${fmt(median(added))} ms`);

    const loaded: ReturnType<typeof serverTimes>[] = [];
    const load = await autocannon({
      url: `${server.url}/v1/verify`,
      method: 'POST',
      connections: CONNECTIONS,
      duration: DURATION_S,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': type, ...server.auth },
          body,
          onResponse: (status, _body, _context, headers) => {
            // Raw header names, as the server cased them.
            const name = Object.keys(headers ?? {}).find((h) => h.toLowerCase() === 'server-timing');
            const timing = name ? headers?.[name] : undefined;
            if (status === 200) loaded.push(serverTimes(Array.isArray(timing) ? timing.join(', ') : timing));
          },
        },
      ],
    });
    const loadAdded = loaded.map((r) => r.auth + r.account);
    console.log(`concurrency ${CONNECTIONS}: ${load.requests.average} req/s, auth + account p50 ${fmt(median(loadAdded))} ms`);

    const result = {
      machine: machine(),
      sequential: {
        runs: RUNS,
        verifyMs: stats(seq.map((r) => r.ms)),
        serverTotalMs: stats(seq.map((r) => r.total)),
        authMs: stats(seq.map((r) => r.auth)),
        accountMs: stats(seq.map((r) => r.account)),
        addedMs: stats(added),
      },
      concurrent: {
        connections: CONNECTIONS,
        durationS: load.duration,
        requests: load.requests.total,
        ok: load['2xx'],
        non2xx: load.non2xx,
        errors: load.errors + load.timeouts,
        reqPerSec: load.requests.average,
        latencyP50: load.latency.p50,
        latencyP97_5: load.latency.p97_5,
        serverTotalMs: stats(loaded.map((r) => r.total)),
        authMs: stats(loaded.map((r) => r.auth)),
        accountMs: stats(loaded.map((r) => r.account)),
        addedMs: stats(loadAdded),
      },
    };
    const path = writeResults('accounts', result);
    const s = result.sequential;
    const c = result.concurrent;
    const share = (addedMs: number, totalMs: number) => `${((100 * addedMs) / totalMs).toFixed(1)} %`;
    const table = markdownTable(
      ['measure', `sequential (${RUNS} requests)`, `concurrency ${CONNECTIONS} (${DURATION_S} s)`],
      [
        [
          "key check before the account call (`auth`: SHA-256, compare; the D1 lookup too on a key's first use in the isolate) p50 / p95",
          `${fmt(s.authMs.p50)} / ${fmt(s.authMs.p95)} ms`,
          `${fmt(c.authMs.p50)} / ${fmt(c.authMs.p95)} ms`,
        ],
        [
          "account (`account`: the Durable Object's admit, beside the D1 revocation check; settlement runs after the response) p50 / p95",
          `${fmt(s.accountMs.p50)} / ${fmt(s.accountMs.p95)} ms`,
          `${fmt(c.accountMs.p50)} / ${fmt(c.accountMs.p95)} ms`,
        ],
        ['added in all p50 / p95', `${fmt(s.addedMs.p50)} / ${fmt(s.addedMs.p95)} ms`, `${fmt(c.addedMs.p50)} / ${fmt(c.addedMs.p95)} ms`],
        [
          'baseline: the verify itself (server `total`) p50, and the added share',
          `${fmt(s.serverTotalMs.p50)} ms (+${share(s.addedMs.p50, s.serverTotalMs.p50)})`,
          `${fmt(c.serverTotalMs.p50)} ms (+${share(c.addedMs.p50, c.serverTotalMs.p50)})`,
        ],
        [
          'end to end p50',
          `${fmt(s.verifyMs.p50)} ms`,
          `${fmt(c.latencyP50)} ms, ${c.reqPerSec.toFixed(1)} req/s, ${c.ok} ok, ${c.non2xx + c.errors} other`,
        ],
      ],
    );
    spliceBenchmarks(
      'accounts',
      `$table\n\n_POST /v1/verify of two 150×150 crops with an API key, loopback \`wrangler dev\` (local D1 and Durable Objects), $result.machine.date.slice(0, 10). Reproduce: \`npm run bench:accounts\`._`,
    );
    console.log(`\n${table}\nwrote ${path}`);
  } finally {
    await server.stop();
  }
}

await main();
