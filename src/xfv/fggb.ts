/**
 * @module xfv/fggb
 * FGGB (Feature-Guided Gradient Backpropagation, Lu, Xu & Ebrahimi, arXiv 2403.04549) as
 * pure maths, exactly as in DESIGN.md:
 *   f̂ = (F − μ)/(‖F − μ‖ + 1e-8)   (μ = 0 by default; the manifest's μ in centred mode)
 *   w_k = f̂_A[k]·f̂_B[k] − θ/N       (Σ_k w_k = cos − θ: positive means accept)
 *   S = Σ_k w_k Ĝ_k,  S⁺ = max(S, 0) (similarity),  S⁻ = max(−S, 0) (dissimilarity)
 * The sum is fed channel by channel (`FggbAccumulator.add`) so a basis streamed from
 * storage is never held whole: memory is constant in N.
 */
import { unitEmbedding, type Vector } from './verification.js';

export interface FggbWeights {
  /** w_k, one per embedding channel. */
  weights: Float64Array;
  /** Σ_k f̂_A[k] f̂_B[k]: the cosine the weights decompose. */
  cosine: number;
  threshold: number;
}

/** Per-channel FGGB weights for a pair of raw embeddings. */
export function fggbWeights(fA: Vector, fB: Vector, threshold: number, mean?: Vector): FggbWeights {
  const a = unitEmbedding(fA, mean);
  const b = unitEmbedding(fB, mean);
  const n = a.length;
  const weights = new Float64Array(n);
  let cosine = 0;
  for (let k = 0; k < n; k++) {
    const p = a[k]! * b[k]!;
    cosine += p;
    weights[k] = p - threshold / n;
  }
  return { weights, cosine, threshold };
}

export interface SignedMaps {
  /** S = Σ_k w_k Ĝ_k (raw, H×W). */
  raw: Float32Array;
  /** S⁺ = max(S, 0). */
  similarity: Float32Array;
  /** S⁻ = max(−S, 0). */
  dissimilarity: Float32Array;
}

/** Split a signed map into its similarity (positive) and dissimilarity (negative) parts. */
export function splitSigned(raw: Float32Array): SignedMaps {
  const similarity = new Float32Array(raw.length);
  const dissimilarity = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i]!;
    if (v > 0) similarity[i] = v;
    else dissimilarity[i] = -v;
  }
  return { raw, similarity, dissimilarity };
}

/** Accumulates S = Σ_k w_k Ĝ_k one channel at a time (float64 sum, float32 result). */
export class FggbAccumulator {
  private readonly sum: Float64Array;
  private readonly seen: Uint8Array;

  constructor(readonly pixels: number, private readonly weights: Float64Array) {
    this.sum = new Float64Array(pixels);
    this.seen = new Uint8Array(weights.length);
  }

  /** Add channel k's basis map Ĝ_k (length H·W, any float array view). */
  add(k: number, map: ArrayLike<number>): void {
    if (map.length !== this.pixels) throw new Error(`basis channel ${k} has ${map.length} values, expected ${this.pixels}`);
    if (this.seen[k]) throw new Error(`basis channel ${k} was added twice`);
    this.seen[k] = 1;
    const w = this.weights[k]!;
    const s = this.sum;
    for (let i = 0; i < s.length; i++) s[i]! += w * map[i]!;
  }

  /** Add channels k0.. from a channel-major block of maps. */
  addBlock(k0: number, block: ArrayLike<number> & { subarray?: (a: number, b: number) => ArrayLike<number> }, count: number): void {
    const p = this.pixels;
    for (let i = 0; i < count; i++) {
      const view = block.subarray ? block.subarray(i * p, (i + 1) * p) : Array.prototype.slice.call(block, i * p, (i + 1) * p);
      this.add(k0 + i, view);
    }
  }

  finish(): SignedMaps {
    const missing = this.seen.indexOf(0);
    if (missing >= 0) throw new Error(`basis channel ${missing} was never added`);
    return splitSigned(Float32Array.from(this.sum));
  }
}

/** FGGB maps from an in-memory channel-major basis [N,H,W]. */
export function fggbFromBasis(basis: ArrayLike<number> & { subarray?: (a: number, b: number) => ArrayLike<number> }, pixels: number, w: FggbWeights): SignedMaps {
  const acc = new FggbAccumulator(pixels, w.weights);
  acc.addBlock(0, basis, w.weights.length);
  return acc.finish();
}

export interface WeightSummary {
  /** Σ w⁺ / Σ |w| and Σ w⁻ / Σ |w|. */
  positiveShare: number;
  negativeShare: number;
  /** cos − θ = Σ_k w_k. */
  margin: number;
  /** Channels with the largest |w_k|, strongest first. */
  topChannels: { channel: number; weight: number }[];
}

export function summariseWeights(w: FggbWeights, top = 5): WeightSummary {
  let pos = 0;
  let neg = 0;
  let margin = 0;
  w.weights.forEach((v) => {
    margin += v;
    if (v > 0) pos += v;
    else neg -= v;
  });
  const total = pos + neg || 1;
  const order = Array.from(w.weights.keys()).sort((a, b) => Math.abs(w.weights[b]!) - Math.abs(w.weights[a]!));
  return {
    positiveShare: pos / total,
    negativeShare: neg / total,
    margin,
    topChannels: order.slice(0, top).map((k) => ({ channel: k, weight: w.weights[k]! })),
  };
}
