/**
 * @module test/oracle/faceapi
 * The correctness oracle: face-api.js's own FaceRecognitionNet (from
 * `@vladmandic/face-api`) on TensorFlow.js with the WASM backend, loaded from the same
 * weight files the ONNX builder reads. Inputs are raw RGB pixels (HWC, 0..255); face-api
 * preprocesses them itself.
 */
import { createRequire } from 'node:module';
import { defaultWeightsDir } from '../../models/facenet/weights.js';

const require = createRequire(import.meta.url);

// biome-ignore lint/suspicious/noExplicitAny: face-api's untyped TFJS internals
type Any = any;

export interface FaceApiOracle {
  tf: Any;
  faceapi: Any;
  net: Any;
  /** Raw 128-d descriptor of a 150×150 RGB image (HWC, 0..255). */
  descriptor(rgb: Float32Array | Uint8Array, size?: number): Float32Array;
  /** Same for a batch of images, in one forward pass. */
  descriptors(rgbs: (Float32Array | Uint8Array)[], size?: number): Float32Array[];
  /**
   * TFJS autodiff through face-api's net: the gradient of channel k of
   * f̂ = (F − μ)/(‖F − μ‖ + 1e-8) (or of Σ_k cot[k] f̂[k]) with respect to the
   * preprocessed input x = (pixel − mean)/255, as [3,S,S] (CHW).
   */
  gradient(rgb: Float32Array | Uint8Array, cot: Float32Array, mean?: Float32Array, size?: number): Float32Array;
}

let cached: Promise<FaceApiOracle> | undefined;

/** Load TFJS (WASM backend, 1 thread) and face-api's net once per process. */
export function loadFaceApiOracle(): Promise<FaceApiOracle> {
  cached ??= (async () => {
    const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
    const tf = faceapi.tf;
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    wasm.setThreadsCount?.(1);
    await tf.setBackend('wasm');
    await tf.ready();
    const net = faceapi.nets.faceRecognitionNet;
    await net.loadFromDisk(defaultWeightsDir());
    const forward = (rgbs: (Float32Array | Uint8Array)[], size: number): Float32Array[] => {
      const images = rgbs.map((p) => tf.tensor3d(Float32Array.from(p), [size, size, 3], 'float32'));
      const out = net.forwardInput(new faceapi.NetInput(images, true));
      const data = out.dataSync() as Float32Array;
      out.dispose();
      images.forEach((t: Any) => t.dispose());
      return rgbs.map((_, i) => data.slice(i * 128, (i + 1) * 128));
    };
    const gradient = (rgb: Float32Array | Uint8Array, cot: Float32Array, mean?: Float32Array, size = 150): Float32Array => {
      const pixels = tf.tensor3d(Float32Array.from(rgb), [size, size, 3], 'float32');
      const cotT = tf.tensor2d(cot, [1, cot.length]);
      const mu = tf.tensor2d(mean ?? new Float32Array(cot.length), [1, cot.length]);
      const f = (p: Any) => {
        const emb = net.forwardInput(new faceapi.NetInput([p], true));
        const d = tf.sub(emb, mu);
        const unit = tf.div(d, tf.add(tf.norm(d), 1e-8));
        return tf.sum(tf.mul(unit, cotT));
      };
      const g = tf.grad(f)(pixels);
      // d/dx = 255 · d/dpixel; HWC → CHW.
      const chw = tf.tidy(() => tf.transpose(tf.mul(g, 255), [2, 0, 1]));
      const out = chw.dataSync() as Float32Array;
      [pixels, cotT, mu, g, chw].forEach((t: Any) => t.dispose());
      return Float32Array.from(out);
    };
    return {
      tf,
      faceapi,
      net,
      gradient,
      descriptor: (rgb, size = 150) => forward([rgb], size)[0]!,
      descriptors: (rgbs, size = 150) => forward(rgbs, size),
    };
  })();
  return cached;
}

export interface FaceApiPhotoOracle {
  /** face-api's own 512×512 detector input for an RGB image (HWC, padded bottom/right, TF bilinear), NHWC. */
  detectorInput(rgb: Uint8Array, width: number, height: number): Float32Array;
  /** face-api's SSD on that input: decoded boxes (ymin, xmin, ymax, xmax, normalised) and scores, before NMS. */
  detect(input512: Float32Array): { boxes: Float32Array; scores: Float32Array };
  /** face-api's landmark net on a 112×112 RGB input (HWC): 136 relative coordinates. */
  landmarks(input112: Float32Array): Float32Array;
  /** face-api's own S×S detector input for an RGB image (as detectorInput), NHWC. */
  detectorInputAt(rgb: Uint8Array, width: number, height: number, size: number): Float32Array;
  /** face-api's Tiny Face Detector on an S×S input (NHWC): its raw grid [S/32, S/32, 25], NHWC. */
  tinyGrid(input: Float32Array, size: number): Float32Array;
}

let photoOracle: Promise<FaceApiPhotoOracle> | undefined;

/** face-api's SSD MobileNetV1, Tiny Face Detector and FaceLandmark68Net on TFJS (WASM), from the same weight files. */
export function loadFaceApiPhotoOracle(): Promise<FaceApiPhotoOracle> {
  photoOracle ??= (async () => {
    const { tf, faceapi } = await loadFaceApiOracle();
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(defaultWeightsDir());
    await faceapi.nets.faceLandmark68Net.loadFromDisk(defaultWeightsDir());
    await faceapi.nets.tinyFaceDetector.loadFromDisk(defaultWeightsDir());
    const detectorInputAt = (rgb: Uint8Array, width: number, height: number, size: number) => {
      const image = tf.tensor3d(Float32Array.from(rgb), [height, width, 3], 'float32');
      const batch = new faceapi.NetInput([image]).toBatchTensor(size, false);
      const data = Float32Array.from(batch.dataSync() as Float32Array);
      [image, batch].forEach((t: Any) => t.dispose());
      return data;
    };
    return {
      detectorInput: (rgb, width, height) => detectorInputAt(rgb, width, height, 512),
      detectorInputAt,
      tinyGrid(input, size) {
        const image = tf.tensor3d(input, [size, size, 3], 'float32');
        const out = faceapi.nets.tinyFaceDetector.forwardInput(new faceapi.NetInput([image]), size);
        const data = Float32Array.from(out.dataSync() as Float32Array);
        [image, out].forEach((t: Any) => t.dispose());
        return data;
      },
      detect(input512) {
        const image = tf.tensor3d(input512, [512, 512, 3], 'float32');
        const out = faceapi.nets.ssdMobilenetv1.forwardInput(new faceapi.NetInput([image]));
        const result = { boxes: Float32Array.from(out.boxes[0].dataSync()), scores: Float32Array.from(out.scores[0].dataSync()) };
        [image, ...out.boxes, ...out.scores].forEach((t: Any) => t.dispose());
        return result;
      },
      landmarks(input112) {
        const image = tf.tensor3d(input112, [112, 112, 3], 'float32');
        const out = faceapi.nets.faceLandmark68Net.runNet(new faceapi.NetInput([image]));
        const data = Float32Array.from(out.dataSync() as Float32Array);
        [image, out].forEach((t: Any) => t.dispose());
        return data;
      },
    };
  })();
  return photoOracle;
}
