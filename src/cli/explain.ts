/**
 * @module cli/explain
 * `npm run explain -- a.png b.png --out dir/ [--method fggb|xssab|gradient] [--centre]
 * [--threshold θ]`: the API's verify + explain on two local images, in Node with
 * onnxruntime-web and the same engine and xfv code as the Worker, without a server.
 * Writes dir/result.json (the API's JSON, with map paths) and
 * dir/{a,b}/{similarity,dissimilarity}.{f32,png,overlay.png,json}.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { ALL_MAPS, artifactPath, renderArtifacts } from '../api/artifacts.js';
import { embedBatch, type OrtModule } from '../engine/embed.js';
import { EXPLAIN_METHODS, type ExplainMethod, explainPair } from '../engine/explain.js';
import { BASIS_CHUNK, gradientRunner, gradientSessionOptions } from '../engine/gradient.js';
import { decodeImage, inputToRgb, toModelInput } from '../image/index.js';
import type { ModelManifest } from '../xfv/manifest.js';
import { decide } from '../xfv/verification.js';

const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'dist');

function parseArgs(argv: string[]) {
  const opts = { images: [] as string[], out: '', method: 'fggb' as ExplainMethod, centre: false, threshold: undefined as number | undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--out') opts.out = argv[++i] ?? '';
    else if (a === '--method') opts.method = argv[++i] as ExplainMethod;
    else if (a === '--centre' || a === '--center') opts.centre = true;
    else if (a === '--threshold') opts.threshold = Number(argv[++i]);
    else opts.images.push(a);
  }
  if (opts.images.length !== 2 || !opts.out) throw new Error('usage: npm run explain -- a.png b.png --out dir/ [--method fggb|xssab|gradient] [--centre] [--threshold θ]');
  if (!EXPLAIN_METHODS.includes(opts.method)) throw new Error(`unknown method ${opts.method}; use one of ${EXPLAIN_METHODS.join(', ')}`);
  if (opts.threshold !== undefined && !(opts.threshold >= -1 && opts.threshold <= 1)) throw new Error('--threshold must be in [-1, 1]');
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const manifest = JSON.parse(readFileSync(join(DIST, 'manifest.json'), 'utf8')) as ModelManifest;
  const { grad: gradFile, gradWeights } = manifest.files;
  if (!gradFile || !gradWeights || !manifest.gradient) throw new Error('models/dist has no gradient graph: run npm run models');
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  const spec = { size: manifest.input.size, mean: manifest.input.mean, scale: manifest.input.scale };
  const t0 = performance.now();
  const inputs = opts.images.map((p) => toModelInput(decodeImage(readFileSync(p)), spec)) as [Float32Array, Float32Array];
  const create = (f: string, options = {}) => ort.InferenceSession.create(readFileSync(join(DIST, f)), { executionProviders: ['wasm'], graphOptimizationLevel: 'all', ...options });
  const int8 = await create(manifest.files.int8.path);
  const [ea, eb] = await embedBatch(ort as unknown as OrtModule, int8, inputs, spec.size);
  const verdict = decide(ea!, eb!, opts.threshold ?? manifest.decision.threshold);
  const grad = await create(gradFile.path, gradientSessionOptions(gradWeights.path, readFileSync(join(DIST, gradWeights.path))));
  const runner = gradientRunner(ort as unknown as OrtModule, grad, { channels: 3, size: spec.size, n: manifest.output.size, chunk: BASIS_CHUNK });
  const θ = opts.centre ? manifest.gradient.centredThresholdFp32 : (opts.threshold ?? manifest.gradient.thresholdFp32);
  const expl = await explainPair(runner, inputs.map((x, i) => ({ x, basisKey: `image-${i}` })) as never, {
    method: opts.method,
    centre: opts.centre,
    threshold: θ,
    mean: Float32Array.from(manifest.embeddingMean),
    modelId: manifest.id,
    size: spec.size,
    channels: 3,
    dtype: 'f32',
    store: false,
  });
  const faces = inputs.map((x) => inputToRgb(x, spec)) as [Uint8Array, Uint8Array];
  const artifacts = renderArtifacts(expl, faces, spec.size, ALL_MAPS, { centre: opts.centre, threshold: θ });
  const maps: Record<string, Record<string, Record<string, string>>> = {};
  for (const a of artifacts) {
    const path = join(opts.out, artifactPath(a));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, a.bytes);
    ((maps[a.image] ??= {})[a.kind] ??= {})[a.format] = artifactPath(a);
  }
  const result = {
    model: { id: manifest.id, version: manifest.buildKey.slice(0, 12) },
    ...verdict,
    explanation: { method: expl.method, centre: opts.centre, threshold: θ, cosine: expl.cosine, summary: expl.summary ?? null },
    maps,
    images: { a: resolve(opts.images[0]!), b: resolve(opts.images[1]!) },
    timing: { totalMs: performance.now() - t0, ...expl.timing },
  };
  writeFileSync(join(opts.out, 'result.json'), `${JSON.stringify(result, null, 1)}\n`);
  console.log(`${verdict.decision} (similarity ${verdict.similarity.toFixed(4)}, θ ${verdict.threshold.toFixed(4)}); ${artifacts.length} files + result.json in ${opts.out} (${(result.timing.totalMs / 1000).toFixed(1)} s)`);
}

main().catch((e: unknown) => {
  console.error(`explain: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
