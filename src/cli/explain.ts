/**
 * @module cli/explain
 * `npm run explain -- a.jpg b.jpg --out dir/ [--input photo|aligned-crop] [--method
 * fggb|xssab|gradient|corrrise] [--plain] [--threshold θ]`: the Worker's explain pipeline on two local images, in Node with the
 * same engine code, without a server and without storing anything.
 * Writes dir/result.json (the API's JSON, with map paths) and
 * dir/{a,b}/{similarity,dissimilarity}.{f32,png,overlay.png,json}.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { artifactPath, mapFiles, renderArtifacts } from '../engine/artifacts.js';
import { affineParts, explainImages, explanationFields } from '../engine/explain-images.js';
import { DEFAULT_EXPLANATION, EXPLAIN_METHODS, type ExplainMethod } from '../engine/explain-pair.js';
import { INPUT_KINDS, type InputKind } from '../engine/inputs.js';
import { LOCAL_LIMITS } from './shrink.js';
import { MAP_SELECTORS } from '../xfv/maps.js';
import { distEngine } from './dist-engine.js';

const USAGE =
  'usage: npm run explain -- a.jpg b.jpg --out dir/ [--input photo|aligned-crop] [--method fggb|xssab|gradient|corrrise] [--plain | --no-centre | --no-smooth] [--threshold θ]';

function parseArgs(argv: string[]) {
  const opts = {
    images: [] as string[],
    out: '',
    method: DEFAULT_EXPLANATION.method as ExplainMethod,
    centre: DEFAULT_EXPLANATION.centre as boolean,
    smooth: DEFAULT_EXPLANATION.smooth as boolean,
    threshold: undefined as number | undefined,
    input: 'photo' as InputKind,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--out') opts.out = argv[++i] ?? '';
    else if (a === '--method') opts.method = argv[++i] as ExplainMethod;
    else if (a === '--centre' || a === '--center') opts.centre = true;
    else if (a === '--no-centre' || a === '--no-center') opts.centre = false;
    else if (a === '--smooth') opts.smooth = true;
    else if (a === '--no-smooth') opts.smooth = false;
    else if (a === '--plain')
      [opts.centre, opts.smooth] = [false, false]; // the paper's FGGB
    else if (a === '--threshold') opts.threshold = Number(argv[++i]);
    else if (a === '--input') opts.input = argv[++i] as InputKind;
    else opts.images.push(a);
  }
  if (opts.images.length !== 2 || !opts.out) throw new Error(USAGE);
  if (!EXPLAIN_METHODS.includes(opts.method)) throw new Error(`unknown method ${opts.method}; use one of ${EXPLAIN_METHODS.join(', ')}`);
  if (!INPUT_KINDS.includes(opts.input)) throw new Error(`unknown input ${opts.input}; use one of ${INPUT_KINDS.join(', ')}`);
  if (opts.threshold !== undefined && !(opts.threshold >= -1 && opts.threshold <= 1)) throw new Error('--threshold must be in [-1, 1]');
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const engine = await distEngine();
  const [a, b] = opts.images.map((p) => new Uint8Array(readFileSync(p))) as [Uint8Array, Uint8Array];
  const limits = LOCAL_LIMITS;
  const outcome = await explainImages(
    engine,
    { a, b, threshold: opts.threshold, method: opts.method, centre: opts.centre, smooth: opts.smooth, store: false, input: opts.input },
    { limits },
  );
  const { explanation: expl, verified } = outcome;
  const artifacts = renderArtifacts(expl, [outcome.faces.a, outcome.faces.b], outcome.size, MAP_SELECTORS, {
    centre: opts.centre,
    threshold: outcome.threshold,
    photos: outcome.photos,
  });
  for (const art of artifacts) {
    const path = join(opts.out, artifactPath(art));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, art.bytes);
  }
  const maps = mapFiles(artifacts, artifactPath);
  // FGGB: P and Q per image (S(θ) = P − (θ/N)·Q), as the API links them.
  const affine = affineParts(expl);
  for (const [name, values] of Object.entries(affine?.maps ?? {})) {
    const path = join(opts.out, `${name.replace('.', '/')}.f32`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  const result = {
    ...verified.result,
    resultId: outcome.resultId,
    explanation: explanationFields(outcome, opts.centre),
    maps,
    affine: affine ? { channels: affine.channels, a: { p: 'a/p.f32', q: 'a/q.f32' }, b: { p: 'b/p.f32', q: 'b/q.f32' } } : null,
    files: { a: resolve(opts.images[0]!), b: resolve(opts.images[1]!) },
    timing: { ...outcome.timing, totalMs: performance.now() - t0 },
  };
  writeFileSync(join(opts.out, 'result.json'), `${JSON.stringify(result, null, 1)}\n`);
  const { decision, similarity, threshold } = verified.result;
  console.log(
    `${decision} (similarity ${similarity.toFixed(4)}, θ ${threshold.toFixed(4)}); ${artifacts.length} files + result.json in ${opts.out} (${(result.timing.totalMs / 1000).toFixed(1)} s)`,
  );
}

main().catch((e: unknown) => {
  console.error(`explain: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
