/**
 * Shared helpers for the node tests: the test faces (skipped with a message when
 * ../shared/faces is missing, a failure under CI) and the built model files.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe } from 'vitest';
import { DIST_DIR } from '../../models/build.js';
import type { ModelManifest } from '../../src/xfv/manifest.js';
import { FACE_SPEC, FACES_DIR, facesAvailable, loadRgb, rgbFloats } from '../../eval/lib/faces.js';

const available = facesAvailable();
if (!available && process.env.CI === 'true') {
  throw new Error(`test faces are missing at ${FACES_DIR}: CI must run with ../shared beside the clone`);
}
if (!available) console.warn(`[skip] face tests: ${FACES_DIR} is missing (a fresh clone without ../shared)`);

/** describe() that runs only when the test faces are present. */
export const describeWithFaces = available ? describe : describe.skip;

export function distManifest(): ModelManifest {
  return JSON.parse(readFileSync(join(DIST_DIR, 'manifest.json'), 'utf8')) as ModelManifest;
}

export function distFile(which: keyof ModelManifest['files']): Uint8Array {
  const f = distManifest().files[which];
  if (!f) throw new Error(`models/dist has no ${which} model: run npm run models`);
  return readFileSync(join(DIST_DIR, f.path));
}

export function cosineF(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return d / Math.sqrt(na * nb);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * A real face (path under ../shared/faces) as RGB floats with ±0.5 grey-level dither: the
 * crops have flat regions where max-pool windows tie and the net is not differentiable;
 * dither makes the test point differentiable (see README, the gradient compiler).
 */
export function ditheredFace(path: string, seed: number): Float32Array {
  let s = seed;
  return rgbFloats(loadRgb(`${FACES_DIR}/${path}`)).map((v) => {
    s = (s * 48271) % 2147483647;
    return v + (s / 2147483647 - 0.5);
  });
}

/** The model input [3,150,150] → RGB floats (HWC), the inverse of rgbToInput. */
export function inputToRgbFloats(x: Float32Array): Float32Array {
  const p = 150 * 150;
  const rgb = new Float32Array(3 * p);
  for (let i = 0; i < p; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = x[c * p + i]! / FACE_SPEC.scale + FACE_SPEC.mean[c]!;
  return rgb;
}

/** RGB floats (HWC, 150×150) → the model input [3,150,150]. */
export function rgbToInput(rgb: Float32Array): Float32Array {
  const p = 150 * 150;
  const x = new Float32Array(3 * p);
  for (let i = 0; i < p; i++) for (let c = 0; c < 3; c++) x[c * p + i] = (rgb[i * 3 + c]! - FACE_SPEC.mean[c]!) * FACE_SPEC.scale;
  return x;
}

/** A development photo's bytes (`single/obama_1.jpg`, relative to ../shared/faces/photos). */
export const readPhoto = (path: string) => new Uint8Array(readFileSync(join(FACES_DIR, 'photos', path)));

/** Mean absolute difference of two equally long arrays (e.g. two decodes' pixels). */
export function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/** Bytes as a ReadableStream, as an upload reaches the photo-models Worker. */
export const streamOf = (bytes: Uint8Array) => new Blob([bytes as Uint8Array<ArrayBuffer>]).stream();

/** JPEGs a decoder must refuse: `jpeg` cut in half and after 2000 bytes, an empty file, and noise. */
export const badJpegs = (jpeg: Uint8Array): Uint8Array[] => [
  jpeg.subarray(0, jpeg.length >> 1),
  jpeg.subarray(0, 2000),
  new Uint8Array(0),
  Uint8Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256),
];
