/**
 * @module xfv/corrrise
 * CorrRISE (Lu et al.'s perturbation baseline), pure parts: random masks that occlude a
 * few square patches, and the per-pixel Pearson correlation between "pixel kept" and the
 * similarity score over the masks. Positive correlation marks pixels whose presence
 * raises the similarity (similarity map), negative ones the opposite (dissimilarity map).
 * Defaults (documented in docs/evaluation.md): 200 masks of 4 patches of 30×30 px at 150×150.
 *
 * The scores factor through each image alone: the cosine of a masked copy of x to the
 * other image is (its unit embedding) · (the other's unit embedding). So an image's unit of
 * work is its occlusion embeddings, one unit row per mask, computed once and kept
 * (engine/corrrise); a pair's maps are then a matrix–vector product and the correlation.
 */
import { randomMap } from './baselines.js';

export interface CorrRiseOptions {
  masks: number;
  patches: number;
  patchSize: number;
  seed: number;
}

export const CORRRISE_DEFAULTS: CorrRiseOptions = { masks: 200, patches: 4, patchSize: 30, seed: 17 };

/** Names a mask set in cache keys: everything that determines the masks. */
export const corrRiseVariant = ({ masks, patches, patchSize, seed }: CorrRiseOptions) =>
  `corrrise-${masks}x${patches}p${patchSize}s${seed}`;

/** Masks as Uint8Array(H·W) with 1 = kept, 0 = occluded. */
export function corrRiseMasks(size: number, { masks, patches, patchSize, seed }: CorrRiseOptions = CORRRISE_DEFAULTS): Uint8Array[] {
  const rand = randomMap(masks * patches * 2, seed);
  const out: Uint8Array[] = [];
  for (let m = 0; m < masks; m++) {
    const mask = new Uint8Array(size * size).fill(1);
    for (let p = 0; p < patches; p++) {
      const y0 = Math.floor(rand[(m * patches + p) * 2]! * (size - patchSize + 1));
      const x0 = Math.floor(rand[(m * patches + p) * 2 + 1]! * (size - patchSize + 1));
      for (let y = y0; y < y0 + patchSize; y++) mask.fill(0, y * size + x0, y * size + x0 + patchSize);
    }
    out.push(mask);
  }
  return out;
}

/** Pearson correlation per pixel between mask presence and the scores. */
export function correlationMap(masks: Uint8Array[], scores: number[]): Float32Array {
  const n = masks.length;
  const pixels = masks[0]!.length;
  const meanS = scores.reduce((a, b) => a + b, 0) / n;
  const varS = scores.reduce((a, s) => a + (s - meanS) ** 2, 0);
  const out = new Float32Array(pixels);
  for (let p = 0; p < pixels; p++) {
    let kept = 0;
    let cov = 0;
    for (let m = 0; m < n; m++)
      if (masks[m]![p]) {
        kept++;
        cov += scores[m]! - meanS;
      }
    const meanK = kept / n;
    const varK = kept * (1 - meanK) ** 2 + (n - kept) * meanK ** 2;
    out[p] = varK > 0 && varS > 0 ? cov / Math.sqrt(varK * varS) : 0;
  }
  return out;
}

/**
 * The scores of a pair from one image's occlusion embeddings: row m of `units` (rows × d,
 * unit length) dotted with the other image's embedding, normalised: the cosine of masked
 * copy m to the other image.
 */
export function occlusionScores(units: Float32Array, other: ArrayLike<number>): number[] {
  const d = other.length;
  let norm = 0;
  for (let k = 0; k < d; k++) norm += other[k]! * other[k]!;
  const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  const scores: number[] = [];
  for (let m = 0; m < units.length / d; m++) {
    let dot = 0;
    for (let k = 0; k < d; k++) dot += units[m * d + k]! * other[k]!;
    scores.push(dot * inv);
  }
  return scores;
}

/** `e` scaled to unit length, written into `out` at `offset`. */
export function writeUnit(e: ArrayLike<number>, out: Float32Array, offset: number): void {
  let norm = 0;
  for (let k = 0; k < e.length; k++) norm += e[k]! * e[k]!;
  const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let k = 0; k < e.length; k++) out[offset + k] = e[k]! * inv;
}

/**
 * `rows` split into at most `shards` contiguous ranges whose boundaries fall on multiples
 * of `batch` (a range starting inside a batch would embed rows it throws away).
 */
export function shardRanges(rows: number, shards: number, batch: number): { from: number; to: number }[] {
  const batches = Math.ceil(rows / batch);
  const count = Math.max(1, Math.min(Math.floor(shards), batches));
  const out: { from: number; to: number }[] = [];
  for (let i = 0; i < count; i++) {
    const [b0, b1] = [Math.floor((i * batches) / count), Math.floor(((i + 1) * batches) / count)];
    out.push({ from: b0 * batch, to: Math.min(rows, b1 * batch) });
  }
  return out;
}
