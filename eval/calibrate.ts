/**
 * @module eval/calibrate
 * `npm run calibrate [pairs.tsv]`: measure what the model build needs from real faces and
 * commit it as data in `models/calibration.json`:
 *  - activation ranges at every quantisation point (fp32 model, onnxruntime-node),
 *  - μ, the mean raw embedding over the calibration images (the centred mode),
 *  - θ at the equal-error rate, EER, ROC AUC and accuracy, plain and centred, for the
 *    fp32 and the int8 model, measured in onnxruntime-web (the Worker's runtime).
 * Default pairs: ../shared/faces/bbt/pairs.tsv (8 people, 40 images, 780 pairs).
 */
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Calibration, OperatingPoint } from '../src/xfv/manifest.js';
import { faceNetFp32, faceNetInt8, faceNetProbe, loadWeights } from '../models/facenet/index.js';
import { accuracyAt, cosine, eerThreshold, rocAuc, type ScoredPair } from '../src/xfv/verification.js';
import { embedBatch } from '../src/engine/embed.js';
import { BBT_PAIRS, FACE_SPEC, REPO_ROOT, loadModelInput, loadPairs } from './lib/faces.js';
import { nodeSession, ortNode, ortWeb, webSession } from './lib/ort.js';
import { widenRanges } from './lib/ranges.js';

/** Layers kept in float in the int8 model; see docs/models.md. */
export const INT8_FLOAT_LAYERS: string[] = [];

const BATCH = 8;

async function activationRanges(inputs: Float32Array[]): Promise<Record<string, [number, number]>> {
  const weights = loadWeights();
  const { model, points } = faceNetProbe(weights);
  const session = await nodeSession(model);
  const ranges: Record<string, [number, number]> = {};
  for (let i = 0; i < inputs.length; i += BATCH) {
    const chunk = inputs.slice(i, i + BATCH);
    const batch = new Float32Array(chunk.length * chunk[0]!.length);
    chunk.forEach((x, j) => batch.set(x, j * x.length));
    const out = await session.run({ x: new ortNode.Tensor('float32', batch, [chunk.length, 3, FACE_SPEC.size, FACE_SPEC.size]) });
    widenRanges(ranges, points, out);
  }
  return ranges;
}

async function embedAll(model: Uint8Array, inputs: Float32Array[]): Promise<Float32Array[]> {
  const session = await webSession(model);
  const out: Float32Array[] = [];
  for (let i = 0; i < inputs.length; i += BATCH)
    out.push(...(await embedBatch(ortWeb, session, inputs.slice(i, i + BATCH), FACE_SPEC.size)));
  await session.release();
  return out;
}

function operatingPoint(scored: ScoredPair[]): OperatingPoint {
  const { threshold, eer } = eerThreshold(scored);
  return { threshold, eer, rocAuc: rocAuc(scored), accuracy: accuracyAt(scored, threshold) };
}

async function main() {
  const pairsFile = process.argv[2] ?? BBT_PAIRS;
  const { pairs, images } = loadPairs(pairsFile);
  console.log(`calibrating on ${images.length} images, ${pairs.length} pairs from ${pairsFile}`);
  const inputs = images.map(loadModelInput);
  const index = new Map(images.map((p, i) => [p, i]));

  const ranges = await activationRanges(inputs);
  const weights = loadWeights();
  const fp32 = await embedAll(faceNetFp32(weights), inputs);
  const int8 = await embedAll(faceNetInt8(weights, ranges, INT8_FLOAT_LAYERS), inputs);

  const n = fp32[0]!.length;
  const mean = new Array<number>(n).fill(0);
  for (const e of fp32) for (let k = 0; k < n; k++) mean[k]! += e[k]! / fp32.length;
  const meanF32 = Array.from(Float32Array.from(mean));

  const score = (emb: Float32Array[], mu?: number[]): ScoredPair[] =>
    pairs.map((p) => ({ score: cosine(emb[index.get(p.a)!]!, emb[index.get(p.b)!]!, mu), same: p.same }));
  const cosToFp32 = fp32.map((e, i) => cosine(e, int8[i]!));

  const people = new Set(images.map((p) => p.split('/').slice(-2, -1)[0])).size;
  const calibration: Calibration = {
    source: {
      pairsFile: relative(REPO_ROOT, pairsFile),
      images: images.length,
      pairs: pairs.length,
      genuine: pairs.filter((p) => p.same).length,
      impostor: pairs.filter((p) => !p.same).length,
      people,
    },
    runtime: 'onnxruntime-web 1.30.0 (wasm, 1 thread) under Node; activation ranges from onnxruntime-node',
    activationRanges: ranges,
    int8FloatLayers: INT8_FLOAT_LAYERS,
    embeddingMean: meanF32,
    fp32: { plain: operatingPoint(score(fp32)), centred: operatingPoint(score(fp32, meanF32)) },
    int8: {
      plain: operatingPoint(score(int8)),
      centred: operatingPoint(score(int8, meanF32)),
      cosineToFp32: { mean: cosToFp32.reduce((a, b) => a + b, 0) / cosToFp32.length, min: Math.min(...cosToFp32) },
    },
  };
  const out = join(REPO_ROOT, 'models', 'calibration.json');
  writeFileSync(out, `${JSON.stringify(calibration, null, 1)}\n`);
  const { fp32: f, int8: q } = calibration;
  console.log(`fp32 plain   θ=${f.plain.threshold.toFixed(4)} EER=${(f.plain.eer * 100).toFixed(2)}% AUC=${f.plain.rocAuc.toFixed(4)}`);
  console.log(
    `fp32 centred θ=${f.centred.threshold.toFixed(4)} EER=${(f.centred.eer * 100).toFixed(2)}% AUC=${f.centred.rocAuc.toFixed(4)}`,
  );
  console.log(`int8 plain   θ=${q.plain.threshold.toFixed(4)} EER=${(q.plain.eer * 100).toFixed(2)}% AUC=${q.plain.rocAuc.toFixed(4)}`);
  console.log(
    `int8 centred θ=${q.centred.threshold.toFixed(4)} EER=${(q.centred.eer * 100).toFixed(2)}% AUC=${q.centred.rocAuc.toFixed(4)}`,
  );
  console.log(`int8 vs fp32 cosine: mean ${q.cosineToFp32.mean.toFixed(5)}, min ${q.cosineToFp32.min.toFixed(5)}`);
  console.log(`wrote ${relative(REPO_ROOT, out)}`);
}

await main();
