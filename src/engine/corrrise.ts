/**
 * @module engine/corrrise
 * CorrRISE on the served int8 model. An image's unit of work is its occlusion embeddings:
 * the image occluded by each of the seeded random masks (occluded pixels take the fill,
 * grey by default: 0 after normalisation), every masked copy embedded, kept as unit rows
 * (xfv/corrrise). They depend on the image alone, so they are computed once per image and
 * cached like a basis; rows can be computed in any ranges (shards) and give the same bytes.
 * A pair's maps: each copy's cosine to the other image's embedding, correlated per pixel
 * with "pixel kept". Positive correlation is the similarity map, negative the dissimilarity.
 */
import {
  CORRRISE_DEFAULTS,
  type CorrRiseOptions,
  corrRiseMasks,
  corrRiseVariant,
  correlationMap,
  occlusionScores,
  writeUnit,
} from '../xfv/corrrise.js';
import { type SignedMaps, splitSigned } from '../xfv/fggb.js';
import { cosine } from '../xfv/verification.js';
import type { OcclusionCache } from '../store/occlusion-cache.js';
import type { Explanation } from './explain-pair.js';

export interface CorrRiseRequest {
  /** Side of the square model input. */
  size: number;
  /** Model-input value per channel for an occluded pixel. */
  fill: ArrayLike<number>;
  options?: CorrRiseOptions;
  /** Masked copies embedded per call (a multiple of it starts every shard, so rows never depend on the split). */
  batch?: number;
}

/** Masked copies per embedding call: 16 is about 20 % cheaper per copy than 1 and past the knee (docs/explanations.md). */
export const CORRRISE_BATCH = 16;

type Embed = (inputs: Float32Array[]) => Promise<Float32Array[]>;

/** Which rows to compute, and a callback told how many more are done after each batch. */
export interface RowRange {
  from?: number;
  to?: number;
  onRows?: (rows: number) => void;
}

/**
 * Rows `from` … `to`−1 of x's occlusion embeddings: (to − from) × d unit rows. Batches
 * start at multiples of `batch` from row 0, so a row's bytes are the same whichever range
 * computes it.
 */
export async function occlusionEmbeddings(
  embed: Embed,
  x: Float32Array,
  masks: Uint8Array[],
  { size, fill, batch = CORRRISE_BATCH }: CorrRiseRequest,
  { from = 0, to = masks.length, onRows }: RowRange = {},
): Promise<Float32Array> {
  const pixels = size * size;
  const channels = x.length / pixels;
  let out: Float32Array | undefined;
  let d = 0;
  for (let start = from - (from % batch); start < to; start += batch) {
    const rows = masks.slice(start, Math.min(start + batch, masks.length));
    const masked = rows.map((mask) => {
      const copy = x.slice();
      for (let p = 0; p < pixels; p++) if (!mask[p]) for (let c = 0; c < channels; c++) copy[c * pixels + p] = fill[c]!;
      return copy;
    });
    const embedded = await embed(masked);
    d ||= embedded[0]!.length;
    out ??= new Float32Array((to - from) * d);
    embedded.forEach((e, i) => {
      const row = start + i;
      if (row >= from && row < to) writeUnit(e, out!, (row - from) * d);
    });
    onRows?.(Math.min(start + batch, to) - Math.max(start, from));
  }
  return out ?? new Float32Array(0);
}

/** An image's similarity and dissimilarity maps from its occlusion embeddings and the other image's embedding. */
export const corrRiseMapsFrom = (units: Float32Array, masks: Uint8Array[], other: Float32Array): SignedMaps =>
  splitSigned(correlationMap(masks, occlusionScores(units, other)));

/** Similarity and dissimilarity maps of `x` against the other image's embedding (nothing cached). */
export async function corrRiseMaps(
  embed: Embed,
  x: Float32Array,
  other: Float32Array,
  masks: Uint8Array[],
  request: CorrRiseRequest,
): Promise<SignedMaps> {
  return corrRiseMapsFrom(await occlusionEmbeddings(embed, x, masks, request), masks, other);
}

export interface CorrRiseImage {
  x: Float32Array;
  /** Its (int8) embedding. */
  embedding: Float32Array;
  /** Where its occlusion embeddings are cached (with the mask set's variant in it). */
  cacheKey?: string | undefined;
}

/** The cache key variant of a request's mask set. */
export const corrRiseRequestVariant = (request: CorrRiseRequest) => corrRiseVariant(request.options ?? CORRRISE_DEFAULTS);

/**
 * CorrRISE maps for both images of a pair: each image's occlusion embeddings from the
 * cache, or computed (and stored when `store`) inside `work` (the Worker's admission for
 * model work; a pair whose images are both cached skips it).
 */
export async function explainCorrRise(
  embed: Embed,
  images: [CorrRiseImage, CorrRiseImage],
  request: CorrRiseRequest,
  {
    cache,
    store = false,
    work = (task) => task(),
    build,
  }: {
    cache?: OcclusionCache | undefined;
    store?: boolean;
    work?: (<T>(task: () => Promise<T>) => Promise<T>) | undefined;
    /**
     * Builds an uncached image's occlusion embeddings into the cache elsewhere (the
     * Worker's builder objects); both images of a pair are built at the same time.
     */
    build?: ((image: CorrRiseImage) => Promise<void>) | undefined;
  } = {},
): Promise<Explanation> {
  const options = request.options ?? CORRRISE_DEFAULTS;
  const masks = corrRiseMasks(request.size, options);
  const t0 = performance.now();
  const lookup = (image: CorrRiseImage) =>
    cache && image.cacheKey ? cache.get(image.cacheKey, options.masks * image.embedding.length) : Promise.resolve(undefined);
  const cached = await Promise.all(images.map(lookup));
  const built =
    build && cache && store && !cached.every((u) => u)
      ? await Promise.all(
          images.map(async (image, i) => {
            if (cached[i]) return cached[i];
            await build(image);
            const units = await lookup(image);
            if (!units) throw new Error(`the occlusion embeddings of ${image.cacheKey} were built but are not in the cache`);
            return units;
          }),
        )
      : undefined;
  const units = built
    ? built
    : cached.every((u) => u)
      ? (cached as Float32Array[])
      : await work(async () => {
          const out: Float32Array[] = [];
          for (const [i, image] of images.entries()) {
            let u = cached[i];
            if (!u) {
              u = await occlusionEmbeddings(embed, image.x, masks, request);
              if (cache && image.cacheKey && store) await cache.put(image.cacheKey, u);
            }
            out.push(u);
          }
          return out;
        });
  const basis = (i: number) => (cached[i] ? 'hit' : cache && images[i]!.cacheKey ? 'miss' : 'none') as 'hit' | 'miss' | 'none';
  const basisMs = performance.now() - t0;
  const t1 = performance.now();
  const a = corrRiseMapsFrom(units[0]!, masks, images[1].embedding);
  const b = corrRiseMapsFrom(units[1]!, masks, images[0].embedding);
  return {
    method: 'corrrise',
    embeddings: [images[0].embedding, images[1].embedding],
    cosine: cosine(images[0].embedding, images[1].embedding),
    a: { maps: a, basis: basis(0) },
    b: { maps: b, basis: basis(1) },
    timing: { embeddingMs: 0, basisMs, combineMs: performance.now() - t1 },
  };
}
