/**
 * @module xfv/smooth
 * Smoothed FGGB bases (SmoothGrad applied to the basis): Ĝ_k averaged over a few copies of
 * the input with seeded Gaussian noise, then scaled back to unit L2 norm per channel k.
 * Averaging removes the basis's dependence on which max-pool input a runtime picks among
 * near-ties and on single-pixel gradient noise, and stays a per-image basis: cacheable.
 */
import { randomMap } from './baselines.js';

export interface SmoothOptions {
  /** Noisy copies averaged. */
  samples: number;
  /** Noise standard deviation in model-input units (the input spans ~1: pixel/255 minus the mean). */
  sigma: number;
  seed: number;
}

export const SMOOTH_DEFAULTS: SmoothOptions = { samples: 4, sigma: 0.1, seed: 29 };

/** Copy `index` of x with N(0, σ²) noise per value (Box–Muller on a seeded uniform stream). */
export function noisyCopy(x: Float32Array, index: number, { sigma, seed }: SmoothOptions): Float32Array {
  const u = randomMap(x.length + 1, seed * 7919 + index);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u[i]!)) * sigma;
    const t = 2 * Math.PI * u[i + 1]!;
    out[i] = x[i]! + r * Math.cos(t);
    if (i + 1 < x.length) out[i + 1] = x[i + 1]! + r * Math.sin(t);
  }
  return out;
}

/** Rows of `sum` (count × pixels, a sum of unit-norm rows) scaled back to unit L2 norm, in place. */
export function normaliseRows(sum: Float32Array, count: number): Float32Array {
  const pixels = sum.length / count;
  for (let k = 0; k < count; k++) {
    const row = sum.subarray(k * pixels, (k + 1) * pixels);
    let ss = 0;
    for (let p = 0; p < pixels; p++) ss += row[p]! * row[p]!;
    const scale = 1 / (Math.sqrt(ss) + 1e-8);
    for (let p = 0; p < pixels; p++) row[p]! *= scale;
  }
  return sum;
}
