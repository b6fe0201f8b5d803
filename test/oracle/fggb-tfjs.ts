/**
 * @module test/oracle/fggb-tfjs
 * FGGB and its baselines computed with TFJS alone — face-api's own net, `tf.grad` per
 * normalised channel, and the formulas of DESIGN.md written out here independently of
 * src/xfv — as the oracle for the engine's explanations.
 */
import { loadFaceApiOracle } from './faceapi.js';

const S = 150;
const P = S * S;

function unit(f: Float32Array, mean?: Float32Array): Float64Array {
  const d = Float64Array.from(f, (v, i) => v - (mean?.[i] ?? 0));
  const n = Math.sqrt(d.reduce((s, v) => s + v * v, 0)) + 1e-8;
  return d.map((v) => v / n);
}

function meanAbs(grad: Float32Array): Float64Array {
  const m = new Float64Array(P);
  for (let c = 0; c < 3; c++) for (let p = 0; p < P; p++) m[p]! += Math.abs(grad[c * P + p]!) / 3;
  return m;
}

export interface TfjsImage {
  rgb: Float32Array;
  embedding: Float32Array;
  /** Ĝ_k for k = 0..N−1 (computed on demand). */
  basis?: Float64Array[];
}

export async function tfjsImage(rgb: Float32Array): Promise<TfjsImage> {
  const o = await loadFaceApiOracle();
  return { rgb, embedding: o.descriptor(rgb) };
}

export async function tfjsBasis(img: TfjsImage, mean?: Float32Array): Promise<Float64Array[]> {
  const o = await loadFaceApiOracle();
  const n = img.embedding.length;
  const out: Float64Array[] = [];
  for (let k = 0; k < n; k++) {
    const cot = new Float32Array(n);
    cot[k] = 1;
    const m = meanAbs(o.gradient(img.rgb, cot, mean));
    const norm = Math.sqrt(m.reduce((s, v) => s + v * v, 0)) + 1e-8;
    out.push(m.map((v) => v / norm));
  }
  return out;
}

/** One channel's Ĝ_k of an RGB image (unit L2 norm over pixels), by TFJS autodiff. */
export async function tfjsBasisRow(rgb: Float32Array, k: number, n: number, mean?: Float32Array): Promise<Float64Array> {
  const o = await loadFaceApiOracle();
  const cot = new Float32Array(n);
  cot[k] = 1;
  const m = meanAbs(o.gradient(rgb, cot, mean));
  const norm = Math.sqrt(m.reduce((s, v) => s + v * v, 0)) + 1e-8;
  return m.map((v) => v / norm);
}

/** Raw S = Σ_k (f̂_A[k] f̂_B[k] − θ/N) Ĝ_k^A. */
export function tfjsFggb(basisA: Float64Array[], fA: Float32Array, fB: Float32Array, threshold: number, mean?: Float32Array): Float64Array {
  const a = unit(fA, mean);
  const b = unit(fB, mean);
  const n = a.length;
  const s = new Float64Array(P);
  for (let k = 0; k < n; k++) {
    const w = a[k]! * b[k]! - threshold / n;
    const g = basisA[k]!;
    for (let p = 0; p < P; p++) s[p]! += w * g[p]!;
  }
  return s;
}

/** xssab positive and negative maps for image A. */
export async function tfjsXssab(img: TfjsImage, fB: Float32Array, threshold: number): Promise<[Float64Array, Float64Array]> {
  const o = await loadFaceApiOracle();
  const a = unit(img.embedding);
  const b = unit(fB);
  const n = a.length;
  const pos = new Float32Array(n);
  const neg = new Float32Array(n);
  for (let k = 0; k < n; k++) (a[k]! * b[k]! >= threshold / n ? pos : neg)[k] = b[k]!;
  return [meanAbs(o.gradient(img.rgb, pos)), meanAbs(o.gradient(img.rgb, neg))];
}

/** mean over colour of |∂cos(f̂_A, f̂_B)/∂I_A|. */
export async function tfjsGradient(img: TfjsImage, fB: Float32Array): Promise<Float64Array> {
  const o = await loadFaceApiOracle();
  return meanAbs(o.gradient(img.rgb, Float32Array.from(unit(fB))));
}
