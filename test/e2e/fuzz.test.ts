/**
 * The CI subset of `npm run fuzz`: a seeded sample of the hostile requests (every class,
 * fewer bit flips) against `wrangler dev` on loopback. Every answer must be a success or a
 * documented 4xx problem (no 5xx, no hang, no stack trace), and a valid verify must still
 * answer correctly after each class.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FuzzCase, fuzzCases, fuzzInputs } from '../../bench/fuzz/cases.js';
import { runFuzz } from '../../bench/fuzz/run.js';
import { type DevServer, startWranglerDev } from '../../bench/lib/wrangler-dev.js';
import { REPO_ROOT } from '../../eval/lib/faces.js';

const SEED = 20261130;
let server: DevServer;
let cases: FuzzCase[];

beforeAll(async () => {
  cases = fuzzCases(await fuzzInputs(), SEED, { flips: 30 });
  server = await startWranglerDev(8795);
});

afterAll(async () => {
  await server?.stop();
});

describe('hostile requests (seeded subset of npm run fuzz)', () => {
  it('answers every one with a success or a documented 4xx problem, and keeps answering valid requests', async () => {
    const crops = ['amy/amy1.png', 'amy/amy2.png'].map(
      (f) => new Uint8Array(readFileSync(join(REPO_ROOT, '..', 'shared', 'faces', 'bbt', f))),
    );
    const report = await runFuzz(server.url, server.auth, cases, { seed: SEED, crops: crops as [Uint8Array, Uint8Array] });
    const failures = report.failures.map((f) => `${f.kind} / ${f.name}: ${f.why}`);
    expect(failures).toEqual([]);
    expect(report.classes.filter((c) => !c.validAfter).map((c) => c.kind)).toEqual([]);
    expect(report.classes.length).toBeGreaterThanOrEqual(25);
    expect(report.outcomes.filter((o) => typeof o.status === 'number' && o.status >= 500)).toEqual([]);
    console.log(`fuzz: ${report.cases} cases in ${report.classes.length} classes, 0 failures`);
  });
});
