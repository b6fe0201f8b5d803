/**
 * @module xfv/verification
 * Verification maths on embeddings: cosine similarity (optionally centred), ROC AUC and
 * the equal-error-rate threshold over labelled pairs. Pure functions, no I/O.
 */

export type Vector = ArrayLike<number>;

export function l2norm(v: Vector): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/** Unit embedding f̂ = (F − μ)/(‖F − μ‖ + 1e-8); μ = 0 when omitted. */
export function unitEmbedding(f: Vector, mean?: Vector): Float64Array {
  const out = new Float64Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = f[i]! - (mean ? mean[i]! : 0);
  const n = l2norm(out) + 1e-8;
  for (let i = 0; i < out.length; i++) out[i]! /= n;
  return out;
}

/** Cosine similarity of two embeddings, optionally centred on μ. */
export function cosine(a: Vector, b: Vector, mean?: Vector): number {
  if (a.length !== b.length) throw new Error(`embedding sizes differ: ${a.length} vs ${b.length}`);
  const ua = unitEmbedding(a, mean);
  const ub = unitEmbedding(b, mean);
  let s = 0;
  for (let i = 0; i < ua.length; i++) s += ua[i]! * ub[i]!;
  return s;
}

export interface ScoredPair {
  score: number;
  same: boolean;
}

/** ROC AUC = P(score of a genuine pair > score of an impostor pair), ties count half. */
export function rocAuc(pairs: ScoredPair[]): number {
  const sorted = [...pairs].sort((x, y) => x.score - y.score);
  let rankSum = 0;
  let positives = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j < sorted.length && sorted[j]!.score === sorted[i]!.score) j++;
    const avgRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++)
      if (sorted[k]!.same) {
        rankSum += avgRank;
        positives++;
      }
    i = j;
  }
  const negatives = sorted.length - positives;
  if (positives === 0 || negatives === 0) throw new Error('ROC AUC needs both genuine and impostor pairs');
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export interface EerResult {
  /** Accept when score ≥ threshold. */
  threshold: number;
  eer: number;
  far: number;
  frr: number;
}

/** The threshold where the false accept and false reject rates are closest (the EER point). */
export function eerThreshold(pairs: ScoredPair[]): EerResult {
  const genuine = pairs
    .filter((p) => p.same)
    .map((p) => p.score)
    .sort((a, b) => a - b);
  const impostor = pairs
    .filter((p) => !p.same)
    .map((p) => p.score)
    .sort((a, b) => a - b);
  if (!genuine.length || !impostor.length) throw new Error('the EER needs both genuine and impostor pairs');
  const scores = [...new Set([...genuine, ...impostor])].sort((a, b) => a - b);
  const candidates = [scores[0]! - 1e-6];
  for (let i = 0; i + 1 < scores.length; i++) candidates.push((scores[i]! + scores[i + 1]!) / 2);
  candidates.push(scores[scores.length - 1]! + 1e-6);
  const countBelow = (sorted: number[], t: number) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  let best: EerResult | undefined;
  for (const t of candidates) {
    const frr = countBelow(genuine, t) / genuine.length;
    const far = (impostor.length - countBelow(impostor, t)) / impostor.length;
    const gap = Math.abs(far - frr);
    if (!best || gap < Math.abs(best.far - best.frr)) best = { threshold: t, eer: (far + frr) / 2, far, frr };
  }
  return best!;
}

/** Fraction of pairs decided correctly at `threshold`. */
export function accuracyAt(pairs: ScoredPair[], threshold: number): number {
  let ok = 0;
  for (const p of pairs) if (p.score >= threshold === p.same) ok++;
  return ok / pairs.length;
}

export interface Decision {
  similarity: number;
  threshold: number;
  decision: 'accept' | 'reject';
  embeddingNorms: { a: number; b: number };
}

/** The verification answer for two raw embeddings: plain cosine against θ. */
export function decide(a: Vector, b: Vector, threshold: number): Decision {
  const similarity = cosine(a, b);
  return { similarity, threshold, decision: similarity >= threshold ? 'accept' : 'reject', embeddingNorms: { a: l2norm(a), b: l2norm(b) } };
}
