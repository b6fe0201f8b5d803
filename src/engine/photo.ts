/**
 * @module engine/photo
 * The photo models in onnxruntime: the face detectors (raw outputs of the SSD at two sizes
 * and of the Tiny Face Detector) and the 68-point landmark net, run through the engine's serialised wasm queue, in this isolate
 * (`loadPhotoRunner`) or in the photo-models Worker behind a service binding
 * (`remotePhotoRunner`, src/photo-models.ts), which keeps their wasm heap out of the isolate
 * that computes gradients. Pure decoding lives in src/face; the photo → aligned chip steps
 * in engine/faces.
 */
import { ssdPriors } from '../face/ssd.js';
import { type ModelSource, ModelUnavailableError } from '../store/models.js';
import { releaseBuffer } from '../release.js';
import type { ModelManifest, PhotoModels } from '../xfv/manifest.js';
import { type OrtModule, type OrtSession, SESSION_OPTIONS } from './embed.js';

/**
 * Which detector (PhotoModels), in the order they run: Tiny Face Detector, the SSD on a
 * small input, the SSD on the full one.
 */
export type DetectPass = 'tiny' | 'quick' | 'full';

/** A detector's raw outputs: the SSD's box encodings and class logits, or the tiny detector's grid (its rows and columns: the input's sides / 32). */
export type DetectorOutput = { boxes: Float32Array; classes: Float32Array } | { grid: Float32Array; rows?: number; cols?: number };

/**
 * A detector input's sides when it is not the pass's square: the tiny detector (fully
 * convolutional) takes the photo's aspect ratio, its longer side the pass's size and both
 * multiples of 32 (engine/faces `detectorFrame`). The SSD passes are always square.
 */
export interface DetectShape {
  height: number;
  width: number;
}

/** Raw outputs of the photo models: what runs in onnxruntime. */
export interface PhotoNets {
  /** Raw detector outputs for one [3,S,S] input of pixel values 0…255 (S: the pass's size), or [3,H,W] with `shape` (the tiny pass). */
  detect(x: Float32Array, pass?: DetectPass, shape?: DetectShape): Promise<DetectorOutput>;
  /** 136 relative coordinates per [3,S,S] face input (pixel values 0…255). */
  landmarks(inputs: Float32Array[]): Promise<Float32Array[]>;
}

export interface PhotoRunner extends PhotoNets {
  models: PhotoModels;
  /** The detector's priors (ymin, xmin, ymax, xmax, normalised), in prediction order. */
  priors: Float32Array;
  /** The quick pass's priors, when the manifest has one (generated for its size). */
  quickPriors?: Float32Array | undefined;
  /** The passes this runner has, in the order they run ('full' last, always). */
  passes: readonly DetectPass[];
}

/** The passes a manifest's photo models give, in order. */
const passesOf = (models: PhotoModels): DetectPass[] => [
  ...(models.tinyDetector ? (['tiny'] as const) : []),
  ...(models.quickDetector ? (['quick'] as const) : []),
  'full',
];

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function photoRunner(
  ort: OrtModule,
  sessions: { detector: OrtSession; quickDetector?: OrtSession | undefined; tinyDetector?: OrtSession | undefined; landmarks: OrtSession },
  priors: Float32Array,
  manifestModels: PhotoModels,
  serialise: <T>(task: () => Promise<T>) => Promise<T> = (t) => t(),
): PhotoRunner {
  const l = manifestModels.landmarks.size;
  // A pass without its session is not there.
  const models = {
    ...manifestModels,
    quickDetector: sessions.quickDetector && manifestModels.quickDetector,
    tinyDetector: sessions.tinyDetector && manifestModels.tinyDetector,
  };
  const passes = passesOf(models);
  return {
    models,
    priors,
    quickPriors: models.quickDetector && ssdPriors(models.quickDetector.size),
    passes,
    detect: (x, pass = 'full', shape) =>
      serialise(async () => {
        const use = passes.includes(pass) ? pass : 'full';
        const session = use === 'tiny' ? sessions.tinyDetector! : use === 'quick' ? sessions.quickDetector! : sessions.detector;
        const d = (use === 'tiny' ? models.tinyDetector! : use === 'quick' ? models.quickDetector! : models.detector).size;
        const [h, w] = use === 'tiny' && shape ? [shape.height, shape.width] : [d, d];
        if (x.length !== 3 * h * w) throw new RangeError(`detector input of ${x.length} values is not 3×${h}×${w}`);
        const out = await session.run({ x: new ort.Tensor('float32', x, [1, 3, h, w]) });
        if (use === 'tiny') {
          const grid = out.grid!;
          return { grid: grid.data as Float32Array, rows: grid.dims[2]!, cols: grid.dims[3]! };
        }
        return { boxes: out.boxes!.data as Float32Array, classes: out.classes!.data as Float32Array };
      }),
    landmarks: (inputs) =>
      serialise(async () => {
        if (inputs.length === 0) return [];
        const batch = new Float32Array(inputs.length * 3 * l * l);
        inputs.forEach((x, i) => batch.set(x, i * 3 * l * l));
        const out = await sessions.landmarks.run({ x: new ort.Tensor('float32', batch, [inputs.length, 3, l, l]) });
        const data = out.landmarks!.data as Float32Array;
        const n = models.landmarks.points * 2;
        return inputs.map((_, i) => data.slice(i * n, (i + 1) * n));
      }),
  };
}

function photoFiles(manifest: ModelManifest) {
  const { detector, quickDetector, tinyDetector, priors, landmarks } = manifest.files;
  if (!detector || !priors || !landmarks || !manifest.photo) {
    throw new ModelUnavailableError(
      'the manifest lists no photo models (files.detector, priors, landmarks): rebuild and reseed the models',
    );
  }
  // A manifest without a first pass (or its file) runs the passes it has.
  const models = {
    ...manifest.photo,
    quickDetector: quickDetector && manifest.photo.quickDetector,
    tinyDetector: tinyDetector && manifest.photo.tinyDetector,
  };
  return {
    detector,
    quickDetector: models.quickDetector && quickDetector,
    tinyDetector: models.tinyDetector && tinyDetector,
    priors,
    landmarks,
    models,
  };
}

/** The detector's priors, read and checked against the manifest. */
export async function loadPriors(manifest: ModelManifest, source: ModelSource): Promise<Float32Array> {
  const bytes = await source.file(photoFiles(manifest).priors);
  return new Float32Array(bytes.slice().buffer);
}

/** The photo models loaded into this isolate's onnxruntime. */
export async function loadPhotoRunner(
  ort: OrtModule,
  manifest: ModelManifest,
  source: ModelSource,
  serialise: <T>(task: () => Promise<T>) => Promise<T>,
): Promise<PhotoRunner> {
  const { detector, quickDetector, tinyDetector, landmarks, models } = photoFiles(manifest);
  const [detectorBytes, quickBytes, tinyBytes, priors, landmarkBytes] = await Promise.all([
    source.file(detector),
    quickDetector ? source.file(quickDetector) : undefined,
    tinyDetector ? source.file(tinyDetector) : undefined,
    loadPriors(manifest, source),
    source.file(landmarks),
  ]);
  try {
    const session = (bytes: Uint8Array) => ort.InferenceSession.create(bytes, { ...SESSION_OPTIONS });
    const sessions = {
      detector: await session(detectorBytes),
      quickDetector: quickBytes && (await session(quickBytes)),
      tinyDetector: tinyBytes && (await session(tinyBytes)),
      landmarks: await session(landmarkBytes),
    };
    return photoRunner(ort, sessions, priors, models, serialise);
  } catch (e) {
    throw new ModelUnavailableError(`the photo models could not be loaded: ${errorText(e)}`, { cause: e });
  } finally {
    for (const bytes of [detectorBytes, quickBytes, tinyBytes, landmarkBytes]) if (bytes) releaseBuffer(bytes);
  }
}

/** Milliseconds spent in each photo net, summed over the runs of one photo. */
export interface NetTimes {
  detectMs: number;
  landmarksMs: number;
}

/** The runner, timing its two nets into `times` (one photo's preparation). */
export function timedRunner(runner: PhotoRunner, times: NetTimes): PhotoRunner {
  const timed = async <T>(key: keyof NetTimes, run: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await run();
    } finally {
      times[key] += performance.now() - t;
    }
  };
  return {
    ...runner,
    detect: (x, pass, shape) => timed('detectMs', () => runner.detect(x, pass, shape)),
    landmarks: (inputs) => timed('landmarksMs', () => runner.landmarks(inputs)),
  };
}

/**
 * The photo models run by another Worker (a service binding to src/photo-models.ts): only
 * the detector's input (3 MB) and the landmark crops travel; decoding, box decoding and
 * alignment stay here. A failed call is the photo models being unavailable (503).
 */
export function remotePhotoRunner(service: PhotoNets, manifest: ModelManifest, priors: Float32Array): PhotoRunner {
  const { models } = photoFiles(manifest);
  const call = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (e) {
      throw new ModelUnavailableError(`the photo models service failed (${what}): ${errorText(e)}`, { cause: e });
    }
  };
  return {
    models,
    priors,
    quickPriors: models.quickDetector && ssdPriors(models.quickDetector.size),
    passes: passesOf(models),
    detect: (x, pass, shape) => call('detect', () => (shape ? service.detect(x, pass, shape) : service.detect(x, pass))),
    landmarks: (inputs) => call('landmarks', () => service.landmarks(inputs)),
  };
}
