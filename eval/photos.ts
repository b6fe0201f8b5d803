/**
 * @module eval/photos
 * `npm run eval:photos -- [--pairs file.tsv] [--out eval/results]`: verification on real
 * photos through the engine's own input stage (engine/inputs: EXIF, detection, landmarks,
 * alignment) and the int8 model, as the Worker runs them (onnxruntime-web under Node).
 * Reports ROC AUC, EER and accuracy at the served θ for two alignments:
 *  - `dlib-chip` (served): a similarity transform of five landmarks onto dlib's template;
 *  - `landmark-box`: face-api.js's way, the axis-aligned box around the 68 landmarks padded
 *    by 20 %, padded to a square and resized.
 * Also: face counts on every `group/` photo and the `stress/` files against their originals.
 * Writes `<out>/photos.json` and `<out>/photos.md`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { distEngine } from '../src/cli/dist-engine.js';
import { prepareInput } from '../src/engine/inputs.js';
import { LOCAL_LIMITS } from '../src/cli/shrink.js';
import { findFaces } from '../src/engine/faces.js';
import { decodeImage, toModelInput } from '../src/image/index.js';
import { exifOrientation, orientUpright } from '../src/image/orientation.js';
import { warpAffine } from '../src/image/warp.js';
import { inputSpec } from '../src/xfv/manifest.js';
import { accuracyAt, cosine, eerThreshold, rocAuc, type ScoredPair } from '../src/xfv/verification.js';
import { argGetter } from './lib/args.js';
import { generatedBy, markdownTable } from './lib/markdown.js';
import { BBT_PAIRS, GROUP_FACE_COUNTS, PHOTOS_DIR, REPO_ROOT, STRESS_ORIGINALS, loadPairs } from './lib/faces.js';

const PHOTOS = PHOTOS_DIR;
const LIMITS = LOCAL_LIMITS;

function args() {
  const argv = process.argv.slice(2);
  const get = argGetter(argv);
  return { pairsFile: get('pairs') ?? join(PHOTOS, 'pairs.tsv'), out: get('out') ?? join(REPO_ROOT, 'eval', 'results') };
}

async function main() {
  const opts = args();
  if (!existsSync(opts.pairsFile)) throw new Error(`${opts.pairsFile} is missing (../shared/faces/photos beside the clone)`);
  const t0 = performance.now();
  const engine = await distEngine();
  const { manifest } = engine;
  const spec = inputSpec(manifest);
  const runner = await engine.photo();
  const { pairs, images } = loadPairs(opts.pairsFile);
  const θ = manifest.decision.threshold;
  // Which pass served a photo, by the detector side it reports.
  const passSizes = { tiny: manifest.photo?.tinyDetector?.size, quick: manifest.photo?.quickDetector?.size };

  // Embeddings per image and alignment.
  const emb: Record<'dlib-chip' | 'landmark-box', Map<string, Float32Array>> = { 'dlib-chip': new Map(), 'landmark-box': new Map() };
  const perImage: Record<string, unknown>[] = [];
  let detectMs = 0;
  for (const path of images) {
    const bytes = new Uint8Array(readFileSync(path));
    const t = performance.now();
    const prepared = await prepareInput(engine, basename(path), bytes, { limits: LIMITS });
    detectMs += performance.now() - t;
    const [e] = await engine.embed([prepared.input]);
    emb['dlib-chip'].set(path, e!);
    // face-api.js's alignment of the same face: the landmarks' box padded by 20 %.
    const img = orientUpright(decodeImage(bytes, { maxPixels: LIMITS.maxPixels }), exifOrientation(bytes));
    const face = (await findFaces(runner, img)).faces[prepared.report.face ?? 0]!;
    const xs = face.landmarks.map((p) => p.x);
    const ys = face.landmarks.map((p) => p.y);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const [w, h] = [(x1 - x0) * 1.2, (y1 - y0) * 1.2];
    const box = warpAffine(
      img,
      [1, 0, x0 - (x1 - x0) * 0.1, 0, 1, y0 - (y1 - y0) * 0.1],
      Math.max(1, Math.round(w)),
      Math.max(1, Math.round(h)),
    );
    const [eb] = await engine.embed([toModelInput(box, spec)]);
    emb['landmark-box'].set(path, eb!);
    perImage.push({
      image: relative(PHOTOS, path),
      faces: prepared.report.faces?.length ?? 0,
      detectorSize: prepared.report.detectorSize,
      warnings: prepared.report.warnings,
    });
  }

  const methods = (['dlib-chip', 'landmark-box'] as const).map((method) => {
    const scored: ScoredPair[] = pairs.map((p) => ({ score: cosine(emb[method].get(p.a)!, emb[method].get(p.b)!), same: p.same }));
    const eer = eerThreshold(scored);
    return { method, rocAuc: rocAuc(scored), eer: eer.eer, eerThreshold: eer.threshold, accuracyAtServedTheta: accuracyAt(scored, θ) };
  });

  // θ: the served one was calibrated on the BBT crops (aligned-crop path); recalibrate on both
  // kinds of input the product aligns, pooled, and show how each set moves.
  const crops = loadPairs(BBT_PAIRS);
  const cropEmb = new Map<string, Float32Array>();
  for (const path of crops.images) {
    const prepared = await prepareInput(engine, basename(path), new Uint8Array(readFileSync(path)), {
      limits: LIMITS,
      input: 'aligned-crop',
    });
    cropEmb.set(path, (await engine.embed([prepared.input]))[0]!);
  }
  const sets = {
    'BBT crops (aligned-crop)': crops.pairs.map((p) => ({ score: cosine(cropEmb.get(p.a)!, cropEmb.get(p.b)!), same: p.same })),
    'photos (dlib-chip)': pairs.map((p) => ({ score: cosine(emb['dlib-chip'].get(p.a)!, emb['dlib-chip'].get(p.b)!), same: p.same })),
  };
  const pooled = Object.values(sets).flat();
  const pooledTheta = eerThreshold(pooled).threshold;
  const theta = Object.entries({ ...sets, pooled }).map(([set, scored]) => {
    const eer = eerThreshold(scored);
    return {
      set,
      pairs: scored.length,
      genuine: scored.filter((p) => p.same).length,
      rocAuc: rocAuc(scored),
      eer: eer.eer,
      eerThreshold: eer.threshold,
      accuracyAtServedTheta: accuracyAt(scored, θ),
      accuracyAtPooledTheta: accuracyAt(scored, pooledTheta),
    };
  });

  // Group photos: how many faces each holds; stress files: upright and verified like their originals.
  const groupCounts: Record<string, number> = {};
  for (const name of Object.keys(GROUP_FACE_COUNTS)) {
    const file = join(PHOTOS, 'group', name);
    const bytes = new Uint8Array(readFileSync(file));
    const img = orientUpright(decodeImage(bytes, { maxPixels: LIMITS.maxPixels }), exifOrientation(bytes));
    groupCounts[basename(file)] = (await findFaces(runner, img)).faces.length;
  }
  const stress: Record<string, number> = {};
  for (const [file, original] of STRESS_ORIGINALS) {
    const prepared = await prepareInput(engine, file, new Uint8Array(readFileSync(join(PHOTOS, 'stress', file))), { limits: LIMITS });
    const [e] = await engine.embed([prepared.input]);
    stress[file] = cosine(e!, emb['dlib-chip'].get(join(PHOTOS, original))!);
  }

  const summary = {
    pairsFile: relative(REPO_ROOT, opts.pairsFile),
    pairs: pairs.length,
    genuine: pairs.filter((p) => p.same).length,
    images: images.length,
    servedTheta: θ,
    runtime: 'onnxruntime-web 1.30.0 (wasm, 1 thread) under Node',
    methods,
    theta: { served: θ, pooledEer: pooledTheta, sets: theta },
    groupFaceCounts: groupCounts,
    stressCosineToOriginal: stress,
    perImage,
    detectAlignMsPerImage: detectMs / images.length,
    tinyPassImages: perImage.filter((i) => i.detectorSize === passSizes.tiny).length,
    quickPassImages: perImage.filter((i) => i.detectorSize === passSizes.quick).length,
    passSizes,
    minutes: (performance.now() - t0) / 60000,
  };
  writeFileSync(join(opts.out, 'photos.json'), `${JSON.stringify(summary, null, 1)}\n`);
  const md = [
    markdownTable(
      ['alignment', 'ROC AUC', 'EER', `accuracy at served θ = ${θ.toFixed(4)}`, 'θ at EER'],
      methods.map((m) => [
        m.method,
        m.rocAuc.toFixed(4),
        `${(m.eer * 100).toFixed(2)} %`,
        `${(m.accuracyAtServedTheta * 100).toFixed(2)} %`,
        m.eerThreshold.toFixed(4),
      ]),
    ),
    '',
    markdownTable(
      [
        'θ calibration set',
        'pairs (genuine)',
        'ROC AUC',
        'EER',
        'θ at EER',
        `accuracy at served θ = ${θ.toFixed(4)}`,
        `accuracy at pooled θ = ${pooledTheta.toFixed(4)}`,
      ],
      theta.map((t) => [
        t.set,
        `${t.pairs} (${t.genuine})`,
        t.rocAuc.toFixed(4),
        `${(t.eer * 100).toFixed(2)} %`,
        t.eerThreshold.toFixed(4),
        `${(t.accuracyAtServedTheta * 100).toFixed(2)} %`,
        `${(t.accuracyAtPooledTheta * 100).toFixed(2)} %`,
      ]),
    ),
    '',
    markdownTable(
      ['group photo', 'faces found'],
      Object.entries(groupCounts).map(([k, v]) => [k, v]),
    ),
    '',
    markdownTable(
      ['stress file', 'cosine to its original (dlib-chip)'],
      Object.entries(stress).map(([k, v]) => [k, v.toFixed(4)]),
    ),
    '',
    `_${pairs.length} pairs (${summary.genuine} genuine) of ${images.length} photos from \`${summary.pairsFile}\`; int8 model, ${summary.runtime}; ${summary.detectAlignMsPerImage.toFixed(0)} ms per image to decode, detect and align; the tiny detector pass (${passSizes.tiny} px) stood for ${summary.tinyPassImages} of the ${images.length} photos, the SSD's quick pass (${passSizes.quick} px) for ${summary.quickPassImages}, the others were detected again at 512. Reproduce: \`npm run eval:photos\`._`,
  ].join('\n');
  writeFileSync(join(opts.out, 'photos.md'), `${generatedBy('npm run eval:photos')}\n\n${md}\n`);
  console.log(md);
}

main().catch((e: unknown) => {
  console.error(`eval:photos: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
