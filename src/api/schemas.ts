/**
 * @module api/schemas
 * Request and response schemas (zod), which both validate requests and generate the
 * OpenAPI document.
 */
import { z } from '@hono/zod-openapi';
import { EXPLAIN_METHODS } from '../engine/explanation.js';
import { MAP_IMAGES, MAP_KINDS, MAP_SELECTORS } from '../xfv/maps.js';

export const ImageJson = z
  .object({ base64: z.base64().openapi({ description: 'PNG or JPEG bytes, standard base64', example: 'iVBORw0KGgo…' }) })
  .openapi('ImageJson');

const thresholdField = z.number().min(-1).max(1).optional().openapi({
  description: "Decision threshold on the cosine similarity; defaults to the model's calibrated θ (equal-error rate).",
  example: 0.9,
});

export const VerifyJson = z.object({ a: ImageJson, b: ImageJson, threshold: thresholdField }).openapi('VerifyJson');

const fileField = (name: string) =>
  z.instanceof(File).openapi({ type: 'string', format: 'binary', description: `Face image ${name} (PNG or JPEG)` });

export const VerifyForm = z
  .object({
    a: fileField('A'),
    b: fileField('B'),
    threshold: z.coerce.number().min(-1).max(1).optional().openapi({ type: 'number', description: 'As in the JSON form' }),
  })
  .openapi('VerifyForm');

export const Timing = z
  .object({
    decodeMs: z.number(),
    preprocessMs: z.number(),
    inferenceMs: z.number(),
    totalMs: z.number(),
  })
  .openapi('Timing', {
    description:
      'Server-side time per stage (also in the Server-Timing header). workerd only advances its clock on I/O, so deployed Workers report coarse values.',
  });

export const ModelRef = z.object({ id: z.string(), version: z.string() }).openapi('ModelRef');

export const VerifyResult = z
  .object({
    model: ModelRef,
    similarity: z.number().openapi({ description: 'Cosine similarity of the two raw embeddings (int8 model)' }),
    threshold: z.number(),
    decision: z.enum(['accept', 'reject']).openapi({ description: 'accept when similarity ≥ threshold' }),
    embeddingNorms: z.object({ a: z.number(), b: z.number() }),
    timing: Timing,
  })
  .openapi('VerifyResult');

export const Problem = z
  .object({
    type: z.string().openapi({ example: '/problems/invalid-request' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export const problemResponses = (codes: number[]) =>
  Object.fromEntries(
    codes.map((code) => [code, { description: `Problem (${code})`, content: { 'application/problem+json': { schema: Problem } } }]),
  );

const explainFields = {
  method: z.enum(EXPLAIN_METHODS).default('fggb').openapi({ description: 'fggb (default), or the baselines xssab and gradient' }),
  centre: z
    .boolean()
    .default(false)
    .openapi({ description: "Centre embeddings on the model's mean μ (optional mode, its own θ); default false = the paper's FGGB" }),
  maps: z
    .array(z.enum(MAP_SELECTORS))
    .min(1)
    .default([...MAP_SELECTORS])
    .openapi({ description: 'Which maps to produce' }),
  store: z
    .boolean()
    .default(true)
    .openapi({ description: 'false: keep nothing (no bases, no maps) after the response; maps come back inline as data: URIs' }),
};

export const ExplainJson = VerifyJson.extend(explainFields).openapi('ExplainJson');

export const ExplainForm = VerifyForm.extend({
  method: explainFields.method,
  centre: z.stringbool().default(false).openapi({ type: 'boolean', description: explainFields.centre.description }),
  maps: z
    .string()
    .transform((v) => v.split(',').map((s) => s.trim()))
    .pipe(z.array(z.enum(MAP_SELECTORS)).min(1))
    .optional()
    .openapi({ type: 'string', description: 'Comma-separated, e.g. a.similarity,b.dissimilarity (default all four)' }),
  store: z.stringbool().default(true).openapi({ type: 'boolean', description: explainFields.store.description }),
}).openapi('ExplainForm');

const MapLinks = z
  .object({ png: z.string(), 'overlay.png': z.string(), f32: z.string(), json: z.string() })
  .openapi('MapLinks', { description: 'URLs under /v1/maps/… (or data: URIs when store is false)' });

export const ExplainResult = VerifyResult.extend({
  resultId: z.string().openapi({ description: 'Content address of this explanation (same inputs and options → same id)' }),
  explanation: z.object({
    method: z.enum(EXPLAIN_METHODS),
    centre: z.boolean(),
    threshold: z.number().openapi({ description: 'θ in the FGGB weights w_k = f̂_A[k]f̂_B[k] − θ/N' }),
    cosine: z.number().openapi({ description: 'Cosine of the fp32 f̂ the explanation decomposes (Σ_k w_k = cosine − θ)' }),
    summary: z
      .object({
        positiveShare: z.number(),
        negativeShare: z.number(),
        margin: z.number(),
        topChannels: z.array(z.object({ channel: z.number().int(), weight: z.number() })),
      })
      .nullable(),
    basis: z
      .object({ a: z.enum(['hit', 'miss', 'none']), b: z.enum(['hit', 'miss', 'none']) })
      .openapi({ description: 'Per-image basis cache: hit (read from R2), miss (computed), none (method needs no basis)' }),
  }),
  maps: z
    .partialRecord(z.enum(MAP_IMAGES), z.partialRecord(z.enum(MAP_KINDS), MapLinks))
    .openapi({ description: 'The wanted maps, by image and kind' }),
  timing: Timing.extend({ embeddingMs: z.number(), basisMs: z.number(), combineMs: z.number(), renderMs: z.number(), storeMs: z.number() }),
}).openapi('ExplainResult');
