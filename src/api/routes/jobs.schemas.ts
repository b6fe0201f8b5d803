/**
 * @module api/routes/jobs.schemas
 * The schemas of the jobs routes: a job's request (/v1/explain's, with each image given as
 * bytes, a URL or an upload, and a callback URL), its state, and the webhook secrets.
 */
import { z } from '@hono/zod-openapi';
import { Problem } from '../../problems/problem.js';
import { ExplainForm, ExplainJson, ExplainResult } from './explain.schemas.js';
import { ImageJson } from './verify.schemas.js';

export const callbackUrl = z.url().max(2048).optional().openapi({
  description: 'https URL that receives a Standard-Webhooks-signed event (explanation.succeeded / explanation.failed) when the job ends',
  example: 'https://example.com/hooks/xfv',
});
const UPLOAD_ID = /^upl_[0-9a-f]{64}$/;
const imageUrl = z
  .url()
  .max(2048)
  .openapi({ description: 'An https URL of a PNG or JPEG, fetched by the job (guarded: no private hosts, at most 3 redirects)' });
const uploadId = z.string().regex(UPLOAD_ID).openapi({ description: 'The id POST /v1/uploads gave for an image' });
/** A job's image: bytes, a URL, or an earlier upload. */
export const ImageRef = z.union([ImageJson, z.object({ url: imageUrl }), z.object({ upload: uploadId })]).openapi('JobImage');
const optionalFile = (name: string) =>
  z
    .instanceof(File)
    .optional()
    .openapi({
      type: 'string',
      format: 'binary',
      description: `Face image ${name}, or give ${name.toLowerCase()}Url / ${name.toLowerCase()}Upload`,
    });
export const JobForm = ExplainForm.extend({
  a: optionalFile('A'),
  b: optionalFile('B'),
  aUrl: imageUrl.optional(),
  bUrl: imageUrl.optional(),
  aUpload: uploadId.optional(),
  bUpload: uploadId.optional(),
  callbackUrl,
}).openapi('JobForm');
export const JobJson = ExplainJson.extend({ a: ImageRef, b: ImageRef, callbackUrl }).openapi('JobJson');
export const Upload = z.object({ upload: z.string().openapi({ example: 'upl_9f86d0…' }), bytes: z.number().int() }).openapi('Upload');

export const Job = z
  .object({
    id: z.string().openapi({ example: 'job_3f2a…' }),
    status: z.enum(['queued', 'running', 'succeeded', 'failed']),
    attempts: z.number().int().openapi({ description: 'Explanation attempts so far' }),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    timing: z.object({ queuedMs: z.number().nullable(), runMs: z.number().nullable() }),
    callbackUrl: z.string().nullable(),
    delivery: z.object({
      status: z.enum(['none', 'pending', 'delivered', 'failed', 'disabled']),
      attempts: z.number().int(),
      deliveredAt: z.string().nullable(),
      lastError: z.string().nullable(),
    }),
    result: z.union([ExplainResult, z.null()]).openapi({ description: 'Once succeeded: what /v1/explain answers' }),
    // A union with null, not .nullable(): a named schema's .nullable() loses its null in the document.
    error: z.union([Problem, z.null()]),
  })
  .openapi('Job');
export const Accepted = z
  .object({ id: z.string(), status: z.literal('queued'), links: z.object({ self: z.string() }) })
  .openapi('JobAccepted');
export const Secrets = z
  .object({
    secrets: z.array(z.object({ secret: z.string(), createdAt: z.string(), expiresAt: z.string().nullable() })),
  })
  .openapi('WebhookSecrets');
