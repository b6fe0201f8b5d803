/**
 * @module bench/basis-dtype
 * `npm run bench:basis-dtype`: what storing the FGGB basis in float16 instead of float32
 * costs in accuracy — the largest difference of the raw map S between the two, relative to
 * the map's range, for both images of a genuine and an impostor pair (onnxruntime-web).
 * Writes bench/results/basis-dtype.json and its table in docs/benchmarks.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIST_DIR } from '../models/build.js';
import { explainOptionsFor, explainPair } from '../src/engine/explain-pair.js';
import type { OrtModule } from '../src/engine/embed.js';
import { gradientRunner, gradientShape } from '../src/engine/gradient.js';
import type { ModelManifest } from '../src/xfv/manifest.js';
import { FACES_DIR, loadModelInput } from '../eval/lib/faces.js';
import { distGradient, ortWeb, webSession } from '../eval/lib/ort.js';
import { machine, markdownTable, spliceBenchmarks, writeResults } from './lib/report.js';

const manifest = JSON.parse(readFileSync(join(DIST_DIR, 'manifest.json'), 'utf8')) as ModelManifest;
const gradient = distGradient(DIST_DIR);
const runner = gradientRunner(ortWeb as unknown as OrtModule, await webSession(gradient.graph, gradient.options), gradientShape(manifest));
const rows: { pair: string; image: string; maxAbsOverRange: number }[] = [];
for (const [pa, pb] of [
  ['amy/amy1.png', 'amy/amy2.png'],
  ['amy/amy1.png', 'raj/raj2.png'],
] as const) {
  const images = [pa, pb].map((p, i) => ({ x: loadModelInput(join(FACES_DIR, 'bbt', p)), basisKey: String(i) })) as [never, never];
  const run = (dtype: 'f32' | 'f16') => explainPair(runner, images, explainOptionsFor(manifest, { method: 'fggb', dtype }));
  const [full, half] = [await run('f32'), await run('f16')];
  for (const img of ['a', 'b'] as const) {
    const r1 = full[img].maps.raw;
    const r2 = half[img].maps.raw;
    let err = 0;
    let lo = Infinity;
    let hi = -Infinity;
    r1.forEach((v, i) => {
      err = Math.max(err, Math.abs(v - r2[i]!));
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    });
    rows.push({ pair: `${pa} – ${pb}`, image: img, maxAbsOverRange: err / (hi - lo) });
  }
}
writeResults('basis-dtype', { machine: machine(), rows });
const table = markdownTable(
  ['pair', 'image', 'max abs(S_f16 − S_f32) / range of S_f32'],
  rows.map((r) => [r.pair, r.image, r.maxAbsOverRange.toExponential(2)]),
);
spliceBenchmarks('basis-dtype', `${table}\n\n_Reproduce: \`npm run bench:basis-dtype\`._`);
console.log(table);
