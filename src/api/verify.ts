/**
 * @module api/verify
 * `POST /v1/verify`: two face images in, cosine similarity and accept/reject out.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { decide } from '../xfv/verification.js';
import { type ImageLimits, imageBytes, prepareImage } from './images.js';
import type { EmbeddingCache } from '../store/embedding-cache.js';
import { sha256OfFloats } from './encoding.js';
import { ProblemError } from './problem.js';
import { VerifyForm, VerifyJson, VerifyResult, problemResponses } from './schemas.js';
import type { AppEnv } from './types.js';

export const verifyRoute = createRoute({
  method: 'post',
  path: '/v1/verify',
  summary: 'Decide whether two face images show the same person',
  description:
    'Images are face crops (PNG or JPEG, any size; padded to a square and resized to the model input). The decision uses the int8 model and its calibrated threshold.',
  request: {
    // Not `required: true`: zod-openapi would then run both media types' validators on
    // every request. The content type is checked in verifyInputs instead.
    body: {
      description: 'Required: two images as multipart/form-data fields or base64 JSON.',
      content: {
        'multipart/form-data': { schema: VerifyForm },
        'application/json': { schema: VerifyJson },
      },
    },
  },
  responses: {
    200: { description: 'Similarity and decision', content: { 'application/json': { schema: VerifyResult } } },
    ...problemResponses([400, 413, 415, 422, 503]),
  },
});

export type Inputs = { a: File | { base64: string }; b: File | { base64: string }; threshold?: number | undefined };

/** The validated body, whichever of the two media types it came in. */
export function bodyInputs<T>(c: Context<AppEnv>): T {
  const type = c.req.header('content-type') ?? '';
  const req = c.req as unknown as { valid(target: 'json' | 'form'): T };
  if (/^application\/json/i.test(type)) return req.valid('json');
  if (/^multipart\/form-data/i.test(type)) return req.valid('form');
  throw new ProblemError('unsupported-media-type', 'send the images as multipart/form-data (fields a, b) or application/json ({"a":{"base64":…},"b":…})');
}

/** A Server-Timing header value from a `{ fooMs: n }` timing object (`foo;dur=n`). */
export function serverTiming(timing: Record<string, number>): string {
  return Object.entries(timing)
    .map(([name, ms]) => `${name.replace(/Ms$/, '')};dur=${ms.toFixed(1)}`)
    .join(', ');
}

/**
 * Decode, preprocess, embed (int8) and decide. `hashInputs` also returns the inputs'
 * content hashes (explain needs them; plain verify skips the work); `cache` reuses stored
 * embeddings by hash (implies hashing).
 */
export async function runVerify(c: Context<AppEnv>, inputs: Inputs, limits: ImageLimits, { cache, hashInputs = false }: { cache?: EmbeddingCache | undefined; hashInputs?: boolean } = {}) {
  const t0 = performance.now();
  const engine = await c.get('engine')();
  const { manifest } = engine;
  const spec = { size: manifest.input.size, mean: manifest.input.mean, scale: manifest.input.scale };
  const bytesA = await imageBytes('a', inputs.a, limits);
  const bytesB = await imageBytes('b', inputs.b, limits);
  const a = prepareImage('a', bytesA, spec, limits);
  const b = prepareImage('b', bytesB, spec, limits);
  const t1 = performance.now();
  const shas = cache || hashInputs ? await Promise.all([sha256OfFloats(a.input), sha256OfFloats(b.input)]) : ['', ''];
  const cached = cache ? await Promise.all(shas.map((s) => cache.get(s))) : [undefined, undefined];
  const missing = [a.input, b.input].filter((_, i) => !cached[i]);
  const computed = missing.length ? await engine.embed(missing) : [];
  const [ea, eb] = cached.map((e) => e ?? computed.shift()!);
  if (cache) await Promise.all([ea, eb].map((e, i) => (cached[i] ? undefined : cache.put(shas[i]!, e!))));
  const inferenceMs = performance.now() - t1;
  const decision = decide(ea!, eb!, inputs.threshold ?? manifest.decision.threshold);
  const timing = {
    decodeMs: a.decodeMs + b.decodeMs,
    preprocessMs: a.preprocessMs + b.preprocessMs,
    inferenceMs,
    totalMs: performance.now() - t0,
  };
  return {
    result: {
      model: { id: manifest.id, version: manifest.buildKey.slice(0, 12) },
      ...decision,
      timing,
    },
    embeddings: [ea!, eb!] as const,
    shas: shas as [string, string],
    images: [a, b] as const,
    serverTiming: serverTiming(timing),
  };
}

export function registerVerify(app: OpenAPIHono<AppEnv>) {
  app.openapi(verifyRoute, async (c) => {
    const { result, serverTiming } = await runVerify(c, bodyInputs<Inputs>(c), c.get('limits'));
    c.header('Server-Timing', serverTiming);
    return c.json(result, 200);
  });
}
