/**
 * @module api/schemas
 * Request and response schemas (zod), which both validate requests and generate the
 * OpenAPI document.
 */
import { z } from '@hono/zod-openapi';

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
  .openapi('Timing', { description: 'Server-side time per stage (also in the Server-Timing header). workerd only advances its clock on I/O, so deployed Workers report coarse values.' });

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
