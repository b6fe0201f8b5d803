/**
 * @module xfv/fggb
 * FGGB (Feature-Guided Gradient Backpropagation, Lu, Xu & Ebrahimi, arXiv 2403.04549) as
 * pure maths, exactly as in DESIGN.md:
 *   f̂ = (F − μ)/(‖F − μ‖ + 1e-8)   (μ = 0 by default; the manifest's μ in centred mode)
 *   w_k = f̂_A[k]·f̂_B[k] − θ/N       (Σ_k w_k = cos − θ: positive means accept)
 *   S = Σ_k w_k Ĝ_k,  S⁺ = max(S, 0) (similarity),  S⁻ = max(−S, 0) (dissimilarity)
 * The sum is fed block by block (`FggbAccumulator.addBlock`) so a basis streamed from
 * storage is never held whole: memory is constant in N.
 * S is affine in θ: S(θ) = P − (θ/N)·Q with P = Σ_k f̂_A[k] f̂_B[k] Ĝ_k and Q = Σ_k Ĝ_k, so
 * the accumulator can also return P and Q (`affine`), from which a client redraws the maps
 * for any θ (`affineMap`) without another pass over the basis.
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
  /** FGGB: the θ-free parts of S, S(θ) = P − (θ/N)·Q. */
  affine?: AffineParts;
}

/** P = Σ_k f̂_A[k] f̂_B[k] Ĝ_k and Q = Σ_k Ĝ_k (H×W each), over N channels. */
export interface AffineParts {
  p: Float32Array;
  q: Float32Array;
  channels: number;
}

/** S(θ) = P − (θ/N)·Q: the raw FGGB map of the pair at any θ (split it with splitSigned). */
export function affineMap({ p, q, channels }: AffineParts, threshold: number): Float32Array {
  const out = new Float32Array(p.length);
  const t = threshold / channels;
  for (let i = 0; i < p.length; i++) out[i] = p[i]! - t * q[i]!;
  return out;
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

/**
 * A channel-major block of basis maps: float values, or codes into a lookup table (the
 * stored float16 bits with their float32 values), so a stored basis is summed without a
 * separate decoding pass.
 */
export type BasisBlock = Float32Array | { codes: Uint16Array; table: Float32Array };

/**
 * Accumulates S = Σ_k w_k Ĝ_k (float64 sum, float32 result) as channels arrive. Blocks are
 * summed four channels per pass (channels 4g…4g+3 whenever a block holds all four), so the
 * result depends only on which groups arrive whole: feed blocks starting at multiples of 4
 * and a basis gives bit-identical maps however it is chunked.
 */
export class FggbAccumulator {
  private readonly sum: Float64Array;
  /** Q = Σ_k Ĝ_k, when the affine parts are wanted. */
  private readonly total: Float64Array | undefined;
  private readonly seen: Uint8Array;

  /**
   * `affine`: also sum Q = Σ_k Ĝ_k and return P = S + (θ/N)·Q and Q with the maps (the
   * weights must be f̂_A[k] f̂_B[k] − θ/N for this θ).
   */
  constructor(
    readonly pixels: number,
    private readonly weights: Float64Array,
    private readonly affine?: { threshold: number },
  ) {
    this.sum = new Float64Array(pixels);
    this.total = affine ? new Float64Array(pixels) : undefined;
    this.seen = new Uint8Array(weights.length);
  }

  private mark(k: number): void {
    if (k < 0 || k >= this.seen.length) throw new Error(`basis channel ${k} is out of range (N = ${this.seen.length})`);
    if (this.seen[k]) throw new Error(`basis channel ${k} was added twice`);
    this.seen[k] = 1;
  }

  /** Add channel k's basis map Ĝ_k (length H·W, any float array view). */
  add(k: number, map: ArrayLike<number>): void {
    if (map.length !== this.pixels) throw new Error(`basis channel ${k} has ${map.length} values, expected ${this.pixels}`);
    this.mark(k);
    const w = this.weights[k]!;
    const s = this.sum;
    for (let i = 0; i < s.length; i++) s[i]! += w * map[i]!;
    const q = this.total;
    if (q) for (let i = 0; i < q.length; i++) q[i]! += map[i]!;
  }

  /** Add channels k0 … k0+count−1 from a channel-major block [count, H·W]. */
  addBlock(k0: number, block: BasisBlock, count: number): void {
    const p = this.pixels;
    const codes = block instanceof Float32Array ? undefined : block;
    const length = codes ? codes.codes.length : (block as Float32Array).length;
    if (length < count * p) throw new Error(`basis block for channels ${k0}…${k0 + count - 1} has ${length} values, expected ${count * p}`);
    const end = k0 + count;
    for (let k = k0; k < end; ) {
      const group = k % 4 === 0 && k + 4 <= end ? 4 : 1;
      for (let j = 0; j < group; j++) this.mark(k + j);
      const o = (k - k0) * p;
      const w = this.weights.subarray(k, k + group);
      if (codes) this.sumCodes(codes.codes, codes.table, o, w);
      else this.sumValues(block as Float32Array, o, w);
      k += group;
    }
  }

  // The two sums below are one loop over two storage forms, written out twice so that
  // each inner loop stays monomorphic (this is the cached-pair hot path). Each adds one
  // channel, or four (w0·v0 + w1·v1 + w2·v2 + w3·v3, in that order, one pass), and with
  // `affine` adds the same values to Q in that pass (each value read and decoded once).
  private sumValues(v: Float32Array, o: number, w: Float64Array): void {
    const { sum: s, total: q, pixels: p } = this;
    const [w0 = 0, w1 = 0, w2 = 0, w3 = 0] = w;
    if (w.length === 1)
      for (let i = 0; i < p; i++) {
        const v0 = v[o + i]!;
        s[i]! += w0 * v0;
        if (q) q[i]! += v0;
      }
    else
      for (let i = 0, j = o; i < p; i++, j++) {
        const v0 = v[j]!;
        const v1 = v[j + p]!;
        const v2 = v[j + 2 * p]!;
        const v3 = v[j + 3 * p]!;
        s[i]! += w0 * v0 + w1 * v1 + w2 * v2 + w3 * v3;
        if (q) q[i]! += v0 + v1 + v2 + v3;
      }
  }

  private sumCodes(c: Uint16Array, t: Float32Array, o: number, w: Float64Array): void {
    const { sum: s, total: q, pixels: p } = this;
    const [w0 = 0, w1 = 0, w2 = 0, w3 = 0] = w;
    if (w.length === 1)
      for (let i = 0; i < p; i++) {
        const v0 = t[c[o + i]!]!;
        s[i]! += w0 * v0;
        if (q) q[i]! += v0;
      }
    else
      for (let i = 0, j = o; i < p; i++, j++) {
        const v0 = t[c[j]!]!;
        const v1 = t[c[j + p]!]!;
        const v2 = t[c[j + 2 * p]!]!;
        const v3 = t[c[j + 3 * p]!]!;
        s[i]! += w0 * v0 + w1 * v1 + w2 * v2 + w3 * v3;
        if (q) q[i]! += v0 + v1 + v2 + v3;
      }
  }

  finish(): SignedMaps {
    const missing = this.seen.indexOf(0);
    if (missing >= 0) throw new Error(`basis channel ${missing} was never added`);
    const maps = splitSigned(Float32Array.from(this.sum));
    if (!this.total || !this.affine) return maps;
    const t = this.affine.threshold / this.weights.length;
    const q = this.total;
    const p = Float32Array.from(this.sum, (s, i) => s + t * q[i]!);
    return { ...maps, affine: { p, q: Float32Array.from(q), channels: this.weights.length } };
  }
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
