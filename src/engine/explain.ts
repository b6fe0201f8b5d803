/**
 * @module engine/explain
 * Explanations for a pair of preprocessed images, shared by the Worker and the CLI:
 * FGGB from per-image bases (read from a cache when present, else computed chunk by chunk
 * with the gradient graph and optionally stored), and the xssab / gradient baselines.
 * Pure orchestration: storage comes in through the BasisCache interface.
 */
import { colourMeanAbs, gradientCotangent, xssabCotangents } from '../xfv/baselines.js';
import { FggbAccumulator, type FggbWeights, type SignedMaps, fggbWeights, summariseWeights, type WeightSummary } from '../xfv/fggb.js';
import { cosine } from '../xfv/verification.js';
import { HALF_TABLE } from '../store/float16.js';
import { type BasisCache, type BasisDtype, type BasisHeader, basisByteLength, encodeEmbedding, encodeHeader } from '../store/basis.js';
import type { GradientRunner } from './gradient.js';

export type { BasisCache };

export type ExplainMethod = 'fggb' | 'xssab' | 'gradient';
export const EXPLAIN_METHODS: ExplainMethod[] = ['fggb', 'xssab', 'gradient'];

export interface ExplainImage {
  x: Float32Array;
  /** Content address of the basis (model, mode, input hash). */
  basisKey: string;
}

export interface ExplainOptions {
  method: ExplainMethod;
  centre: boolean;
  /** θ for the weights (on the cosine of the f̂ of this mode). */
  threshold: number;
  mean: Float32Array;
  modelId: string;
  size: number;
  channels: number;
  dtype: BasisDtype;
  cache?: BasisCache;
  /** Store computed bases in the cache (false: keep nothing). */
  store: boolean;
  /**
   * Wraps the work that needs the gradient graph (embeddings and bases of uncached images,
   * the baselines); the Worker's admission control. Pairs with both bases cached skip it.
   */
  compute?: <T>(task: () => Promise<T>) => Promise<T>;
}

export interface ImageExplanation {
  /** Similarity and dissimilarity maps before blur / min–max (raw S⁺, S⁻). */
  maps: SignedMaps;
  basis: 'hit' | 'miss' | 'none';
}

export interface Explanation {
  method: ExplainMethod;
  a: ImageExplanation;
  b: ImageExplanation;
  /** Raw fp32 embeddings from the gradient graph. */
  embeddings: [Float32Array, Float32Array];
  /** Cosine of the f̂ the weights use (centred when centre is on). */
  cosine: number;
  weights?: FggbWeights;
  summary?: WeightSummary;
  timing: { embeddingMs: number; basisMs: number; combineMs: number };
}

export async function explainPair(runner: GradientRunner, [imgA, imgB]: [ExplainImage, ExplainImage], options: ExplainOptions): Promise<Explanation> {
  const { method, cache } = options;
  const t0 = performance.now();

  const heads = await Promise.all([imgA, imgB].map((img) => (method === 'fggb' && cache ? cache.head(img.basisKey) : Promise.resolve(undefined))));
  const cached = heads[0] !== undefined && heads[1] !== undefined;
  const compute = !cached && options.compute ? options.compute : <T>(task: () => Promise<T>) => task();
  return compute(() => explainFromHeads(runner, [imgA, imgB], options, heads, t0));
}

type Head = Awaited<ReturnType<BasisCache['head']>>;

async function explainFromHeads(runner: GradientRunner, [imgA, imgB]: [ExplainImage, ExplainImage], options: ExplainOptions, heads: Head[], t0: number): Promise<Explanation> {
  const { method, centre, threshold, mean, cache, store, dtype, size } = options;
  const pixels = size * size;
  const mu = centre ? mean : undefined;
  const embeddings = (await Promise.all([imgA, imgB].map((img, i) => heads[i]?.embedding ?? runner.embedding(img.x)))) as [Float32Array, Float32Array];
  const t1 = performance.now();
  const [fA, fB] = embeddings;
  const result = { method, embeddings, cosine: cosine(fA, fB, mu) };

  if (method !== 'fggb') {
    const zeros = new Float32Array(fA.length);
    const mapsFor = async (x: Float32Array, self: Float32Array, other: Float32Array): Promise<SignedMaps> => {
      if (method === 'gradient') {
        const g = await runner.vjp(x, [gradientCotangent(other, mu)], centre ? mean : zeros);
        const m = colourMeanAbs(g, options.channels, pixels);
        return { raw: m, similarity: m, dissimilarity: m };
      }
      const g = await runner.vjp(x, xssabCotangents(self, other, threshold, mu), centre ? mean : zeros);
      const pos = colourMeanAbs(g, options.channels, pixels, 0);
      const neg = colourMeanAbs(g, options.channels, pixels, 1);
      return { raw: pos.map((v, i) => v - neg[i]!), similarity: pos, dissimilarity: neg };
    };
    const a = await mapsFor(imgA.x, fA, fB);
    const b = await mapsFor(imgB.x, fB, fA);
    const t2 = performance.now();
    return { ...result, a: { maps: a, basis: 'none' }, b: { maps: b, basis: 'none' }, timing: { embeddingMs: t1 - t0, basisMs: t2 - t1, combineMs: 0 } };
  }

  const weights = fggbWeights(fA, fB, threshold, mu);
  let basisMs = 0;
  let combineMs = 0;
  const explainOne = async (img: ExplainImage, f: Float32Array, head: Head): Promise<ImageExplanation> => {
    const acc = new FggbAccumulator(pixels, weights.weights);
    if (head && cache) {
      const tc = performance.now();
      await cache.blocks(img.basisKey, head.header, (k0, block, count) => acc.addBlock(k0, block, count));
      combineMs += performance.now() - tc;
      return { maps: acc.finish(), basis: 'hit' };
    }
    const header: BasisHeader = { dtype, centred: centre, n: f.length, height: size, width: size, modelId: options.modelId };
    const sink = store && cache ? cache.writer(img.basisKey, basisByteLength(header)) : undefined;
    const tb = performance.now();
    try {
      await sink?.write(encodeHeader(header));
      await sink?.write(encodeEmbedding(f));
      // Summed exactly as a cached basis will be (same stored values, same 4-channel
      // groups), so a fresh result and a later cached one are bit-identical.
      const basisMean = centre ? mean : new Float32Array(f.length);
      if (dtype === 'f32') {
        await runner.basis(img.x, basisMean, async (k0, maps, count) => {
          acc.addBlock(k0, maps, count);
          await sink?.write(new Uint8Array(maps.buffer, maps.byteOffset, maps.byteLength));
        });
      } else {
        await runner.basis(img.x, basisMean, async (k0, codes, count) => {
          acc.addBlock(k0, { codes, table: HALF_TABLE }, count);
          await sink?.write(new Uint8Array(codes.buffer, codes.byteOffset, codes.byteLength));
        }, 'f16');
      }
      await sink?.close();
    } catch (e) {
      await sink?.abort(e);
      throw e;
    }
    basisMs += performance.now() - tb;
    return { maps: acc.finish(), basis: 'miss' };
  };
  // Cached bases stream concurrently (overlapping their reads); computed ones run in turn.
  const [a, b] = heads[0] && heads[1]
    ? await Promise.all([explainOne(imgA, fA, heads[0]), explainOne(imgB, fB, heads[1])])
    : [await explainOne(imgA, fA, heads[0]), await explainOne(imgB, fB, heads[1])];
  return { ...result, a, b, weights, summary: summariseWeights(weights), timing: { embeddingMs: t1 - t0, basisMs, combineMs } };
}

