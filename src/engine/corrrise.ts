/**
 * @module engine/corrrise
 * CorrRISE for a pair, on the served int8 model: each image is occluded by the seeded
 * random masks (occluded pixels take the fill, grey by default: 0 after normalisation),
 * every masked copy is embedded, and its cosine to the other image's embedding is
 * correlated per pixel with "pixel kept" (xfv/corrrise). Positive correlation is the
 * similarity map, negative the dissimilarity map. Pair-specific and uncacheable: 2 × masks
 * forwards, embedded in small batches so memory stays flat.
 */
import { CORRRISE_DEFAULTS, type CorrRiseOptions, corrRiseMasks, correlationMap } from '../xfv/corrrise.js';
import { type SignedMaps, splitSigned } from '../xfv/fggb.js';
import { cosine } from '../xfv/verification.js';
import type { Explanation } from './explain-pair.js';

export interface CorrRiseRequest {
  /** Side of the square model input. */
  size: number;
  /** Model-input value per channel for an occluded pixel. */
  fill: ArrayLike<number>;
  options?: CorrRiseOptions;
  /** Masked copies embedded per call. */
  batch?: number;
}

type Embed = (inputs: Float32Array[]) => Promise<Float32Array[]>;

/** Similarity and dissimilarity maps of `x` against the other image's embedding. */
export async function corrRiseMaps(
  embed: Embed,
  x: Float32Array,
  other: Float32Array,
  masks: Uint8Array[],
  { size, fill, batch = 8 }: CorrRiseRequest,
): Promise<SignedMaps> {
  const pixels = size * size;
  const channels = x.length / pixels;
  const scores: number[] = [];
  for (let i = 0; i < masks.length; i += batch) {
    const masked = masks.slice(i, i + batch).map((mask) => {
      const copy = x.slice();
      for (let p = 0; p < pixels; p++) if (!mask[p]) for (let c = 0; c < channels; c++) copy[c * pixels + p] = fill[c]!;
      return copy;
    });
    for (const e of await embed(masked)) scores.push(cosine(e, other));
  }
  return splitSigned(correlationMap(masks, scores));
}

/** CorrRISE maps for both images of a pair, given their (int8) embeddings. */
export async function explainCorrRise(
  embed: Embed,
  pair: [Float32Array, Float32Array],
  embeddings: readonly [Float32Array, Float32Array],
  request: CorrRiseRequest,
): Promise<Explanation> {
  const masks = corrRiseMasks(request.size, request.options ?? CORRRISE_DEFAULTS);
  const t0 = performance.now();
  const a = await corrRiseMaps(embed, pair[0], embeddings[1], masks, request);
  const b = await corrRiseMaps(embed, pair[1], embeddings[0], masks, request);
  return {
    method: 'corrrise',
    embeddings: [embeddings[0], embeddings[1]],
    cosine: cosine(embeddings[0], embeddings[1]),
    a: { maps: a, basis: 'none' },
    b: { maps: b, basis: 'none' },
    timing: { embeddingMs: 0, basisMs: performance.now() - t0, combineMs: 0 },
  };
}
