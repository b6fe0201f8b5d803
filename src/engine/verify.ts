/**
 * @module engine/verify
 * The verify pipeline, the one path every caller takes (the routes, the explain pipeline,
 * the CLI): two encoded images → model inputs (engine/inputs: photos are decoded, turned
 * upright, their faces found and aligned; crops are resized) → int8 embeddings (from the embedding cache when given) → cosine and decision.
 * Image errors are ImageErrors naming the input (`a` or `b`); the API turns them into problems.
 */
import type { EmbeddingCache } from '../store/embedding-cache.js';
import { sha256Hex } from '../sha256.js';
import { modelRef, type ModelRef } from '../xfv/manifest.js';
import { type Decision, decide } from '../xfv/verification.js';
import type { Engine } from './engine.js';
import type { FaceChoice } from './face-choice.js';
import type { ImageLimits, ImageSource } from './image-decode.js';
import { type InputKind, type InputReport, type PreparedImage, prepareInput } from './inputs.js';

/** Limits when nothing overrides them: phone-size photos fit (a 12 MP PNG is ~15–25 MB); over 2 MP they are shrunk before decoding. */
export const DEFAULT_LIMITS: ImageLimits = { maxImageBytes: 25 * 1024 * 1024, maxPixels: 100_000_000, maxDecodePixels: 2_000_000 };

/** How a caller asks for a pair to be verified (the API's request fields; api/routes/verify.schemas holds its schema to these). */
export interface VerifySettings {
  /** Decision threshold on the cosine; default the model's calibrated θ. */
  threshold?: number | undefined;
  /** What the images are: photos (default; faces are found and aligned) or aligned face crops. */
  input?: InputKind | undefined;
  /** Which face of each photo to verify (default: the largest). */
  faces?: { a?: FaceChoice | undefined; b?: FaceChoice | undefined } | undefined;
}

export interface VerifyRequest extends VerifySettings {
  /** Encoded PNG or JPEG images (bytes, or uploaded Files read only as far as needed). */
  a: ImageSource;
  b: ImageSource;
}

export interface VerifyOptions {
  limits: ImageLimits;
  /** Reuse and keep int8 embeddings by input hash (implies hashing). */
  embeddings?: EmbeddingCache | undefined;
  /** Also return the inputs' content hashes (the explain pipeline addresses bases by them). */
  hashInputs?: boolean;
  /** Keep each photo scaled down, to lay maps on (the explain pipeline). */
  previews?: boolean;
}

export type VerifyResult = Decision & {
  model: ModelRef;
  /** Per image: what was done to it (faces found, the one used, warnings). */
  images: { a: InputReport; b: InputReport };
  timing: { decodeMs: number; detectMs: number; landmarksMs: number; preprocessMs: number; inferenceMs: number; totalMs: number };
};

export interface Verified {
  result: VerifyResult;
  embeddings: readonly [Float32Array, Float32Array];
  /** Hex SHA-256 of each model input ('' unless hashed). */
  shas: [string, string];
  images: readonly [PreparedImage, PreparedImage];
}

export const sha256OfFloats = (x: Float32Array) => sha256Hex(new Uint8Array(x.buffer as ArrayBuffer, x.byteOffset, x.byteLength));

export async function verifyPair(
  engine: Engine,
  request: VerifyRequest,
  { limits, embeddings: cache, hashInputs = false, previews = false }: VerifyOptions,
): Promise<Verified> {
  const t0 = performance.now();
  const { manifest } = engine;
  const options = { limits, input: request.input, preview: previews };
  const a = await prepareInput(engine, 'a', request.a, { ...options, face: request.faces?.a });
  const b = await prepareInput(engine, 'b', request.b, { ...options, face: request.faces?.b });
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
    detectMs: a.detectMs + b.detectMs,
    landmarksMs: a.landmarksMs + b.landmarksMs,
    preprocessMs: a.preprocessMs + b.preprocessMs,
    inferenceMs,
    totalMs: performance.now() - t0,
  };
  return {
    result: { model: modelRef(manifest), ...decision, images: { a: a.report, b: b.report }, timing },
    embeddings: [ea, eb],
    shas,
    images: [a, b],
  };
}
