/**
 * @module engine/verify
 * The verify pipeline, the one path every caller takes (the routes, the explain pipeline,
 * the CLI): two encoded images → decode (pixel cap before decoding) → model input →
 * int8 embeddings (from the embedding cache when given) → cosine and decision.
 * Image errors are ImageErrors naming the input (`a` or `b`); the API turns them into problems.
 */
import { ImageError, type RgbImage, decodeImage, toModelInput } from '../image/index.js';
import type { EmbeddingCache } from '../store/embedding-cache.js';
import { sha256Hex } from '../store/models.js';
import { inputSpec, modelRef, type ModelRef } from '../xfv/manifest.js';
import { type Decision, decide } from '../xfv/verification.js';
import type { Engine } from './engine.js';

export interface ImageLimits {
  /** Encoded bytes per image (checked by whoever reads the bytes, before reading them). */
  maxImageBytes: number;
  /** Pixels an image header may declare (checked before decoding). */
  maxPixels: number;
}

export const DEFAULT_LIMITS: ImageLimits = { maxImageBytes: 8 * 1024 * 1024, maxPixels: 6_000_000 };

export interface VerifyRequest {
  /** Encoded PNG or JPEG bytes. */
  a: Uint8Array;
  b: Uint8Array;
  /** Decision threshold on the cosine; default the model's calibrated θ. */
  threshold?: number | undefined;
}

export interface VerifyOptions {
  limits: ImageLimits;
  /** Reuse and keep int8 embeddings by input hash (implies hashing). */
  embeddings?: EmbeddingCache | undefined;
  /** Also return the inputs' content hashes (the explain pipeline addresses bases by them). */
  hashInputs?: boolean;
}

export interface PreparedImage {
  input: Float32Array;
  width: number;
  height: number;
  decodeMs: number;
  preprocessMs: number;
}

export type VerifyResult = Decision & {
  model: ModelRef;
  timing: { decodeMs: number; preprocessMs: number; inferenceMs: number; totalMs: number };
};

export interface Verified {
  result: VerifyResult;
  embeddings: readonly [Float32Array, Float32Array];
  /** Hex SHA-256 of each model input ('' unless hashed). */
  shas: [string, string];
  images: readonly [PreparedImage, PreparedImage];
}

/** Decode and preprocess one image for the model. */
export function prepareImage(field: string, bytes: Uint8Array, spec: ReturnType<typeof inputSpec>, limits: ImageLimits): PreparedImage {
  if (bytes.length === 0) throw new ImageError('undecodable', `image ${field} is empty`, field);
  const t0 = performance.now();
  let img: RgbImage;
  try {
    img = decodeImage(bytes, { maxPixels: limits.maxPixels });
  } catch (e) {
    if (e instanceof ImageError) throw new ImageError(e.kind, `image ${field}: ${e.message}`, field, { cause: e });
    throw e;
  }
  const t1 = performance.now();
  const input = toModelInput(img, spec);
  return { input, width: img.width, height: img.height, decodeMs: t1 - t0, preprocessMs: performance.now() - t1 };
}

export const sha256OfFloats = (x: Float32Array) => sha256Hex(new Uint8Array(x.buffer as ArrayBuffer, x.byteOffset, x.byteLength));

export async function verifyPair(
  engine: Engine,
  request: VerifyRequest,
  { limits, embeddings: cache, hashInputs = false }: VerifyOptions,
): Promise<Verified> {
  const t0 = performance.now();
  const { manifest } = engine;
  const spec = inputSpec(manifest);
  const a = prepareImage('a', request.a, spec, limits);
  const b = prepareImage('b', request.b, spec, limits);
  const t1 = performance.now();
  const shas = (cache || hashInputs ? await Promise.all([sha256OfFloats(a.input), sha256OfFloats(b.input)]) : ['', '']) as [string, string];
  const cached = cache ? await Promise.all(shas.map((s) => cache.get(s))) : [undefined, undefined];
  const missing = [a.input, b.input].filter((_, i) => !cached[i]);
  const computed = missing.length ? await engine.embed(missing) : [];
  const [ea, eb] = cached.map((e) => e ?? computed.shift()!) as [Float32Array, Float32Array];
  if (cache) await Promise.all([ea, eb].map((e, i) => (cached[i] ? undefined : cache.put(shas[i]!, e))));
  const inferenceMs = performance.now() - t1;
  const decision = decide(ea, eb, request.threshold ?? manifest.decision.threshold);
  const timing = {
    decodeMs: a.decodeMs + b.decodeMs,
    preprocessMs: a.preprocessMs + b.preprocessMs,
    inferenceMs,
    totalMs: performance.now() - t0,
  };
  return { result: { model: modelRef(manifest), ...decision, timing }, embeddings: [ea, eb], shas, images: [a, b] };
}
