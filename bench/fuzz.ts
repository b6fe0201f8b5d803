/**
 * `npm run fuzz [-- --seed N]`: every hostile request of bench/fuzz/cases (over 500,
 * seeded) against `wrangler dev` on loopback, judged by bench/fuzz/run: each answer a
 * success or a documented 4xx problem, no 5xx, no hang, no leaked stack trace, and a valid
 * verify still right after each class. Writes bench/results/fuzz.json and the table in
 * docs/benchmarks.md; exits 1 on any failure. CI runs a seeded subset (test/e2e/fuzz.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../eval/lib/faces.js';
import { fuzzCases, fuzzInputs } from './fuzz/cases.js';
import { runFuzz } from './fuzz/run.js';
import { machine, markdownTable, spliceBenchmarks, writeResults } from './lib/report.js';
import { startWranglerDev } from './lib/wrangler-dev.js';

const seedArg = process.argv.indexOf('--seed');
const seed = seedArg > 0 ? Number(process.argv[seedArg + 1]) : 1;
const crops = ['amy/amy1.png', 'amy/amy2.png'].map(
  (f) => new Uint8Array(readFileSync(join(REPO_ROOT, '..', 'shared', 'faces', 'bbt', f))),
) as [Uint8Array, Uint8Array];

const cases = fuzzCases(await fuzzInputs(), seed);
const server = await startWranglerDev(8794);
try {
  const t0 = performance.now();
  const report = await runFuzz(server.url, server.auth, cases, { seed, crops });
  const seconds = (performance.now() - t0) / 1000;
  writeResults('fuzz', { machine: machine(), seconds, ...report });
  const table = markdownTable(
    ['class', 'cases', 'answers (status × count)', 'failures', 'valid verify after'],
    report.classes.map((c) => [
      c.kind,
      c.cases,
      Object.entries(c.statuses)
        .map(([s, n]) => `${s} × ${n}`)
        .join(', '),
      c.failures,
      c.validAfter ? 'yes' : '**no**',
    ]),
  );
  const unanswered = report.outcomes.filter((o) => o.status === 'timeout');
  const fivexx = report.outcomes.filter((o) => typeof o.status === 'number' && o.status >= 500).length;
  const total = `${report.cases} cases (seed ${seed}) in ${seconds.toFixed(0)} s: ${report.failures.length} failures, ${fivexx} × 5xx; ${unanswered.length} unanswered, ${unanswered.filter((o) => o.ok).length} of them slow-loris bodies the client abandoned on purpose at its bound.`;
  spliceBenchmarks('fuzz', `${table}\n\n${total}`);
  console.log(table);
  console.log(total);
  for (const f of report.failures) console.log(`FAIL ${f.kind} / ${f.name}: ${f.why}`);
  if (report.failures.length || report.classes.some((c) => !c.validAfter)) process.exitCode = 1;
} finally {
  await server.stop();
}
