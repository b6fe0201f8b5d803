/**
 * @module models/build
 * `npm run models`: build `models/dist/` (fp32 and int8 ONNX face models, the gradient
 * graph compiled from the fp32 one with its weights in an external-data file, manifest.json) from face-api's weights and the committed calibration. Skips the
 * build when the dist is up to date (same build key, files intact); `--force` rebuilds.
 * Deterministic: the same inputs give the same bytes.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Calibration, FaithfulnessEvidence, ModelFile, ModelManifest } from '../src/xfv/manifest.js';
import { GRAD_INPUTS, GRAD_OUTPUTS, compileGradient } from './compiler/compile.js';
import { externaliseWeights } from './onnx/external.js';
import { LANDMARKS_MANIFEST, LANDMARKS_SIZE, buildLandmarks } from './photo/landmarks.js';
import { TINY_MANIFEST, TINY_SIZE, buildTinyDetector } from './photo/tiny.js';
import { SSD_MANIFEST, SSD_PRIORS, SSD_QUICK_SIZE, SSD_SIZE, buildSsd, shippedSsdPriors } from './photo/ssd.js';
import { ssdGrids, ssdPriorCount } from '../src/face/ssd.js';
import {
  EMBEDDING_SIZE,
  INPUT_SIZE,
  MANIFEST_FILE,
  MEAN_RGB,
  MODEL_DOC,
  MODEL_ID,
  PIXEL_SCALE,
  defaultWeightsDir,
  faceNetFp32,
  faceNetInt8,
  loadWeights,
} from './facenet/index.js';

const MODELS_DIR = dirname(fileURLToPath(import.meta.url));
export const DIST_DIR = join(MODELS_DIR, 'dist');
export const CALIBRATION_FILE = join(MODELS_DIR, 'calibration.json');
export const DETECTOR_CALIBRATION_FILE = join(MODELS_DIR, 'detector-calibration.json');
export const FAITHFULNESS_FILE = join(MODELS_DIR, 'faithfulness.json');

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const p = join(dir, e.name);
      if (e.isDirectory()) return e.name === 'dist' ? [] : sourceFiles(p);
      return /\.(ts|proto|json)$/.test(e.name) ? [p] : [];
    })
    .sort();
}

/** Sources outside models/ that the build runs: the SSD's prior counts. */
const SHARED_SOURCES = [
  fileURLToPath(new URL('../src/face/ssd.ts', import.meta.url)),
  fileURLToPath(new URL('../src/face/tiny.ts', import.meta.url)),
];

/** Hash of every input of the build: toolchain sources, calibration, weights. */
export function buildKey(weightsDir = defaultWeightsDir()): string {
  const h = createHash('sha256');
  for (const f of sourceFiles(MODELS_DIR)) h.update(relative(MODELS_DIR, f)).update(readFileSync(f));
  for (const f of SHARED_SOURCES) h.update(relative(MODELS_DIR, f)).update(readFileSync(f));
  for (const f of [
    MANIFEST_FILE,
    'face_recognition_model.bin',
    SSD_MANIFEST,
    'ssd_mobilenetv1_model.bin',
    LANDMARKS_MANIFEST,
    'face_landmark_68_model.bin',
  ]) {
    h.update(f).update(readFileSync(join(weightsDir, f)));
  }
  return h.digest('hex');
}

export function readDetectorCalibration(path = DETECTOR_CALIBRATION_FILE): Record<string, [number, number]> {
  if (!existsSync(path))
    throw new Error(`${path} is missing: run \`npm run calibrate:detector\` (needs ../shared/faces/photos) or restore it from git`);
  return (JSON.parse(readFileSync(path, 'utf8')) as { activationRanges: Record<string, [number, number]> }).activationRanges;
}

/** How each explanation method's maps did against pair-independent answers (`npm run eval:margins`), when measured. */
export function readFaithfulness(path = FAITHFULNESS_FILE): FaithfulnessEvidence | undefined {
  if (!existsSync(path)) return undefined;
  const { source, methods } = JSON.parse(readFileSync(path, 'utf8')) as FaithfulnessEvidence;
  return { source, methods };
}

export function readCalibration(path = CALIBRATION_FILE): Calibration {
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run calibrate\` (needs ../shared/faces) or restore it from git`);
  return JSON.parse(readFileSync(path, 'utf8')) as Calibration;
}

function fileEntry(dir: string, path: string, bytes: Uint8Array): ModelFile {
  writeFileSync(join(dir, path), bytes);
  return { path, sha256: sha256(bytes), bytes: bytes.length };
}

/** True when `dir` holds a manifest with this build key and files matching their hashes. */
export function isUpToDate(dir: string, key: string): boolean {
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) return false;
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ModelManifest;
    if (manifest.buildKey !== key) return false;
    return Object.values(manifest.files).every((f) => {
      const p = join(dir, f.path);
      return existsSync(p) && statSync(p).size === f.bytes && sha256(readFileSync(p)) === f.sha256;
    });
  } catch {
    return false;
  }
}

/** Build every artifact into `dir`; returns the manifest. */
export async function buildModels(
  dir = DIST_DIR,
  options: { weightsDir?: string; calibrationFile?: string; detectorCalibrationFile?: string } = {},
): Promise<ModelManifest> {
  const weightsDir = options.weightsDir ?? defaultWeightsDir();
  const calibration = readCalibration(options.calibrationFile);
  const weights = loadWeights(weightsDir);
  mkdirSync(dir, { recursive: true });
  const fp32 = faceNetFp32(weights);
  const int8 = faceNetInt8(weights, calibration.activationRanges, calibration.int8FloatLayers);
  // shareWeights: on this net the ConvTranspose backward is as fast as flipped-weight Convs
  // in wasm (4.4 s vs 4.5 s per basis, docs/compiler.md) and the graph is 22.6 MB instead of 41 MB.
  const grad = await compileGradient(fp32, { name: MODEL_ID, shareWeights: true });
  // Weights in an external-data file: onnxruntime then copies each one straight into place
  // instead of the whole 22.6 MB model first (docs/explanations.md: isolate memory).
  const gradWeightsPath = `${MODEL_ID}.grad.weights`;
  const gradSplit = externaliseWeights(grad, gradWeightsPath);
  const ssdWeights = loadWeights(weightsDir, SSD_MANIFEST);
  const priors = shippedSsdPriors(ssdWeights);
  // The detector in QDQ int8 (activation ranges measured on real photos by `npm run
  // calibrate:detector`): its activations take 27 MB less wasm heap than fp32 (docs/photos.md).
  const detectorRanges = readDetectorCalibration(options.detectorCalibrationFile);
  const detector = buildSsd(ssdWeights, { ranges: detectorRanges });
  // The quick first pass: the same net and ranges on a 320 px input (docs/photos.md).
  const quickDetector = buildSsd(ssdWeights, { ranges: detectorRanges }, SSD_QUICK_SIZE);
  // The quickest first pass: face-api's Tiny Face Detector at 352 px, fp32 (docs/photos.md).
  const tinyDetector = buildTinyDetector(loadWeights(weightsDir, TINY_MANIFEST), TINY_SIZE);
  const faithfulness = readFaithfulness();
  const manifest: ModelManifest = {
    id: MODEL_ID,
    description: MODEL_DOC,
    buildKey: buildKey(weightsDir),
    license: 'weights: dlib face recognition model (public domain) via face-api.js (MIT)',
    input: {
      name: 'x',
      shape: ['B', 3, INPUT_SIZE, INPUT_SIZE],
      size: INPUT_SIZE,
      channelOrder: 'RGB',
      layout: 'NCHW',
      mean: [...MEAN_RGB],
      scale: PIXEL_SCALE,
      preprocessing: 'pad to square with black (centred), bilinear resize to 150×150 (TF legacy), (pixel − mean) × scale',
    },
    output: { name: 'embedding', size: EMBEDDING_SIZE, normalised: false },
    decision: {
      model: 'int8',
      metric: 'cosine',
      threshold: calibration.int8.plain.threshold,
      centredThreshold: calibration.int8.centred.threshold,
    },
    embeddingMean: calibration.embeddingMean,
    accuracy: { source: calibration.source, runtime: calibration.runtime, fp32: calibration.fp32, int8: calibration.int8 },
    int8FloatLayers: calibration.int8FloatLayers,
    files: {
      fp32: fileEntry(dir, `${MODEL_ID}.onnx`, fp32),
      int8: fileEntry(dir, `${MODEL_ID}.int8.onnx`, int8),
      grad: fileEntry(dir, `${MODEL_ID}.grad.onnx`, gradSplit.graph),
      gradWeights: fileEntry(dir, gradWeightsPath, gradSplit.data),
      detector: fileEntry(dir, 'face-detector.int8.onnx', detector),
      tinyDetector: fileEntry(dir, `face-detector-tiny-${TINY_SIZE}.onnx`, tinyDetector),
      quickDetector: fileEntry(dir, `face-detector-${SSD_QUICK_SIZE}.int8.onnx`, quickDetector),
      priors: fileEntry(dir, 'face-detector.priors.f32', new Uint8Array(priors.buffer, priors.byteOffset, priors.byteLength)),
      landmarks: fileEntry(dir, 'face-landmarks.onnx', buildLandmarks(loadWeights(weightsDir, LANDMARKS_MANIFEST))),
    },
    photo: {
      detector: { size: SSD_SIZE, priors: SSD_PRIORS, minScore: 0.5 },
      tinyDetector: { size: TINY_SIZE, minScore: 0.5, iouThreshold: 0.4, trustScore: 0.7, minFaceRatio: 0.16 },
      quickDetector: {
        size: SSD_QUICK_SIZE,
        priors: ssdPriorCount(ssdGrids(SSD_QUICK_SIZE)),
        minScore: 0.5,
        trustScore: 0.8,
        // Its smallest anchor: 0.1 of 512 px, in 320 px.
        minFaceRatio: (0.1 * SSD_SIZE) / SSD_QUICK_SIZE,
      },
      landmarks: { size: LANDMARKS_SIZE, points: 68 },
      chip: { padding: 0.25 },
    },
    gradient: {
      inputs: [...GRAD_INPUTS],
      outputs: [...GRAD_OUTPUTS],
      thresholdFp32: calibration.fp32.plain.threshold,
      centredThresholdFp32: calibration.fp32.centred.threshold,
    },
    ...(faithfulness ? { faithfulness } : {}),
  };
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
}

async function main() {
  const force = process.argv.includes('--force');
  const key = buildKey();
  if (!force && isUpToDate(DIST_DIR, key)) {
    console.log(`models: ${relative(process.cwd(), DIST_DIR)} is up to date`);
    return;
  }
  const t0 = performance.now();
  const manifest = await buildModels(DIST_DIR);
  const files = Object.values(manifest.files).map((f) => `${f.path} (${(f.bytes / 1e6).toFixed(1)} MB)`);
  console.log(`models: built ${files.join(', ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(`models: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
