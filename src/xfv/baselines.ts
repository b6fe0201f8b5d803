/**
 * @module xfv/baselines
 * The baselines kept beside FGGB (DESIGN.md), as pure maths around the same gradient
 * graph: the cotangent rows they need and the reduction of the returned gradients.
 *  - xssab (Huber et al.): P = {k : f̂_A[k] f̂_B[k] ≥ θ/N}; VJPs with cotangent f̂_B masked
 *    to P and to its complement; map = mean over colour of |grad| after the sum.
 *  - gradient: mean over colour of |∂cos(f̂_A, f̂_B)/∂I_A| (cotangent f̂_B).
 *  - random: seeded noise, the floor any method must beat.
 */
import { unitEmbedding, type Vector } from './verification.js';

/** Cotangent rows for xssab: [f̂_B ⊙ 1_P, f̂_B ⊙ 1_¬P], each of length N. */
export function xssabCotangents(fA: Vector, fB: Vector, threshold: number, mean?: Vector): [Float32Array, Float32Array] {
  const a = unitEmbedding(fA, mean);
  const b = unitEmbedding(fB, mean);
  const n = a.length;
  const pos = new Float32Array(n);
  const neg = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    if (a[k]! * b[k]! >= threshold / n) pos[k] = b[k]!;
    else neg[k] = b[k]!;
  }
  return [pos, neg];
}

/** Cotangent for the plain gradient baseline: f̂_B (so the VJP is ∂cos/∂I_A). */
export function gradientCotangent(fB: Vector, mean?: Vector): Float32Array {
  return Float32Array.from(unitEmbedding(fB, mean));
}

/** Mean over the colour planes of |g| for a [C,H,W] gradient (optionally row r of [K,C,H,W]). */
export function colourMeanAbs(grad: ArrayLike<number>, channels: number, pixels: number, row = 0): Float32Array {
  const out = new Float32Array(pixels);
  const base = row * channels * pixels;
  for (let c = 0; c < channels; c++) for (let p = 0; p < pixels; p++) out[p]! += Math.abs(grad[base + c * pixels + p]!) / channels;
  return out;
}

/** Seeded uniform noise in [0, 1) (mulberry32). */
export function randomMap(pixels: number, seed: number): Float32Array {
  let s = seed | 0;
  const out = new Float32Array(pixels);
  for (let i = 0; i < pixels; i++) {
    s = (s + 0x6d2b79f5) | 0;
    let r = Math.imul(s ^ (s >>> 15), 1 | s);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    out[i] = ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  }
  return out;
}
