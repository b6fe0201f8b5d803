/**
 * @module engine/photo
 * The photo models in onnxruntime: the face detector (raw SSD outputs) and the 68-point
 * landmark net, run through the engine's serialised wasm queue. Pure decoding lives in
 * src/face; the photo → aligned chip steps in engine/faces.
 */
import type { PhotoModels } from '../xfv/manifest.js';
import type { OrtModule, OrtSession } from './embed.js';

export interface PhotoRunner {
  models: PhotoModels;
  /** The detector's priors (ymin, xmin, ymax, xmax, normalised), in prediction order. */
  priors: Float32Array;
  /** Raw SSD outputs for one [3,S,S] input of pixel values 0…255. */
  detect(x: Float32Array): Promise<{ boxes: Float32Array; classes: Float32Array }>;
  /** 136 relative coordinates per [3,S,S] face input (pixel values 0…255). */
  landmarks(inputs: Float32Array[]): Promise<Float32Array[]>;
}

export function photoRunner(
  ort: OrtModule,
  sessions: { detector: OrtSession; landmarks: OrtSession },
  priors: Float32Array,
  models: PhotoModels,
  serialise: <T>(task: () => Promise<T>) => Promise<T> = (t) => t(),
): PhotoRunner {
  const d = models.detector.size;
  const l = models.landmarks.size;
  return {
    models,
    priors,
    detect: (x) =>
      serialise(async () => {
        const out = await sessions.detector.run({ x: new ort.Tensor('float32', x, [1, 3, d, d]) });
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
