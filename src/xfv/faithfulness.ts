/**
 * @module xfv/faithfulness
 * The Deletion / Insertion faithfulness protocol (after Lu et al.), as pure functions:
 * rank a map's pixels (ties broken by a fixed seeded order), perturb the probe image at
 * ratios 0…100 % (deletion: the most salient pixels become the fill; insertion: start
 * from an all-fill image and restore them), and the AUC of an accuracy curve as the
 * trapezoid over the ratios, in %.
 */
import { randomMap } from './baselines.js';

export const RATIOS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
export type PerturbMode = 'deletion' | 'insertion';

/** Pixel indices, most salient first; equal values keep a fixed pseudo-random order. */
export function rankPixels(map: ArrayLike<number>, seed = 1): Int32Array {
  const tie = randomMap(map.length, seed);
  const order = Array.from({ length: map.length }, (_, i) => i);
  order.sort((a, b) => map[b]! - map[a]! || tie[a]! - tie[b]!);
  return Int32Array.from(order);
}

/**
 * The probe with `ratio` of its pixels perturbed: x is [C,H,W] in model space, fill one
 * value per channel (in model space), order from rankPixels.
 */
export function perturb(
  x: Float32Array,
  channels: number,
  order: Int32Array,
  ratio: number,
  fill: ArrayLike<number>,
  mode: PerturbMode,
): Float32Array {
  const pixels = order.length;
  const count = Math.round(ratio * pixels);
  const out = mode === 'deletion' ? x.slice() : new Float32Array(x.length);
  if (mode === 'insertion') for (let c = 0; c < channels; c++) out.fill(fill[c]!, c * pixels, (c + 1) * pixels);
  for (let i = 0; i < count; i++) {
    const p = order[i]!;
    for (let c = 0; c < channels; c++) out[c * pixels + p] = mode === 'deletion' ? fill[c]! : x[c * pixels + p]!;
  }
  return out;
}

/** AUC of a curve sampled at RATIOS (trapezoid), as a percentage of the full square. */
export function curveAuc(values: number[], ratios = RATIOS): number {
  if (values.length !== ratios.length) throw new Error(`curve has ${values.length} points, expected ${ratios.length}`);
  let area = 0;
  for (let i = 1; i < ratios.length; i++) area += ((values[i]! + values[i - 1]!) / 2) * (ratios[i]! - ratios[i - 1]!);
  return 100 * area;
}

/** Model-space fill values: black (pixel 0) or gray (the mean pixel, 0 after preprocessing). */
export function fillValues(kind: 'black' | 'gray', mean: ArrayLike<number>, scale: number): number[] {
  return Array.from(mean, (m) => (kind === 'black' ? (0 - m) * scale : 0));
}
