/**
 * @module api/jobs
 * Asynchronous explanations (jobs/explain-job): `POST /v1/jobs` takes what /v1/explain
 * takes plus `callbackUrl`, keeps the images in R2, starts the job's Workflow and answers
 * 202 with its id and a Location at once; `GET /v1/jobs/{id}` its state and, once it
 * succeeded, the /v1/explain body; `POST /v1/jobs/{id}/redeliver` delivers its webhook
 * again. `GET /v1/webhook-secret` and `POST /v1/webhook-secret/rotate`: the tenant's
 * signing secrets (during a rotation the old one signs too, for 24 hours).
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bind } from '../accounts/db.js';
import { sha256Hex } from '../accounts/keys.js';
import { activeSecrets, findJob, jobKeys, jobSql, type JobRequest, type JobRow } from '../jobs/db.js';
import { checkOutboundUrl } from '../jobs/guarded-url.js';
import { newWebhookSecret } from '../jobs/webhooks.js';
import { bodyMediaType } from './body.js';
import { type ImageField, imageSource } from './images.js';
import { ProblemError } from './problem.js';
import { ExplainForm, ExplainJson, ExplainResult, faceChoices, ImageJson, problemResponses } from './schemas.js';
import type { AppEnv } from './types.js';

/** How long a rotated-out secret keeps signing. */
export const ROTATION_OVERLAP_MS = 24 * 3600_000;

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
const JobForm = ExplainForm.extend({
  a: optionalFile('A'),
  b: optionalFile('B'),
  aUrl: imageUrl.optional(),
  bUrl: imageUrl.optional(),
  aUpload: uploadId.optional(),
  bUpload: uploadId.optional(),
  callbackUrl,
}).openapi('JobForm');
const JobJson = ExplainJson.extend({ a: ImageRef, b: ImageRef, callbackUrl }).openapi('JobJson');
const Upload = z.object({ upload: z.string().openapi({ example: 'upl_9f86d0…' }), bytes: z.number().int() }).openapi('Upload');

const Problem = z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string() });
const Job = z
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
    error: Problem.nullable(),
  })
  .openapi('Job');
const Accepted = z.object({ id: z.string(), status: z.literal('queued'), links: z.object({ self: z.string() }) }).openapi('JobAccepted');
const Secrets = z
  .object({
    secrets: z.array(z.object({ secret: z.string(), createdAt: z.string(), expiresAt: z.string().nullable() })),
  })
  .openapi('WebhookSecrets');

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const JobId = z.object({ id: z.string().openapi({ example: 'job_3f2a…' }) });

export function registerJobs(app: OpenAPIHono<AppEnv>) {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/jobs',
      summary: 'Explain two faces asynchronously; the result is delivered to callbackUrl',
      security: [{ bearerAuth: [] }],
      request: {
        body: {
          description: 'As /v1/explain, plus callbackUrl. Send Idempotency-Key to get the same job for the same request.',
          content: { 'multipart/form-data': { schema: JobForm }, 'application/json': { schema: JobJson } },
        },
      },
      responses: {
        202: { description: 'Queued', content: { 'application/json': { schema: Accepted } } },
        ...problemResponses([400, 401, 402, 403, 409, 413, 415, 422, 429, 503]),
      },
    }),
    async (c) => {
      const body = bodyMediaType(c) === 'json' ? c.req.valid('json') : c.req.valid('form');
      const id = await createJob(c, { ...body, faces: faceChoices(body) }, body.callbackUrl);
      const self = new URL(`/v1/jobs/${id}`, c.req.url).href;
      return c.json({ id, status: 'queued' as const, links: { self } }, 202, { Location: self });
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/uploads',
      summary: 'Keep an image for later jobs (multipart field image); its id is its content hash',
      security: [{ bearerAuth: [] }],
      request: {
        body: {
          content: {
            'multipart/form-data': {
              schema: z.object({ image: z.instanceof(File).openapi({ type: 'string', format: 'binary', description: 'PNG or JPEG' }) }),
            },
            'application/json': { schema: z.object({ image: ImageJson }) },
          },
        },
      },
      responses: {
        201: { description: 'Kept', content: { 'application/json': { schema: Upload } } },
        ...problemResponses([400, 401, 403, 413, 415, 429]),
      },
    }),
    async (c) => {
      const body = bodyMediaType(c) === 'json' ? c.req.valid('json') : c.req.valid('form');
      const source = imageSource('image', body.image, c.get('limits'));
      const bytes = source instanceof Uint8Array ? source : new Uint8Array(await source.arrayBuffer());
      const upload = `upl_${await sha256Hex(bytes)}`;
      await c.env.DATA.put(jobKeys.upload(c.get('caller')!.tenantId, upload), bytes);
      return c.json({ upload, bytes: bytes.length }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/jobs/{id}',
      summary: "A job's state, and its result once it succeeded",
      security: [{ bearerAuth: [] }],
      request: { params: JobId },
      responses: {
        200: { description: 'The job', content: { 'application/json': { schema: Job } } },
        ...problemResponses([401, 403, 404, 429]),
      },
    }),
    async (c) => {
      const row = await tenantJob(c.env, c.req.valid('param').id, c.get('caller')!.tenantId);
      // A succeeded job's result object expires with the tenant's results (store/retention): null then.
      const result =
        row.status === 'succeeded' ? ((await (await c.env.DATA.get(jobKeys.result(row.tenant_id, row.id)))?.json()) ?? null) : null;
      return c.json(jobBody(row, (result ?? null) as z.infer<typeof ExplainResult> | null), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/jobs/{id}/redeliver',
      summary: "Deliver a finished job's webhook again (the same webhook-id)",
      security: [{ bearerAuth: [] }],
      request: { params: JobId },
      responses: {
        202: { description: 'Delivery restarted', content: { 'application/json': { schema: Accepted.omit({ status: true }) } } },
        ...problemResponses([400, 401, 403, 404, 409, 429]),
      },
    }),
    async (c) => {
      const row = await tenantJob(c.env, c.req.valid('param').id, c.get('caller')!.tenantId);
      if (!row.callback_url) throw new ProblemError('invalid-request', `job ${row.id} has no callbackUrl`);
      if (row.status !== 'succeeded' && row.status !== 'failed')
        throw new ProblemError('job-not-finished', `job ${row.id} is ${row.status}: it delivers when it ends`);
      if (row.delivery_status === 'pending') throw new ProblemError('job-not-finished', `job ${row.id} is delivering already`);
      // Asking for a redelivery re-enables an endpoint that answered 410 before.
      await c.env.DB.batch(
        [jobSql.redeliver(row.id), jobSql.enableEndpoint(row.tenant_id, row.callback_url)].map((st) => bind(c.env.DB, st)),
      );
      await c.env.JOBS.create({
        id: `${row.id}-redeliver-${Date.now()}`,
        params: { jobId: row.id, tenantId: row.tenant_id, redeliver: true },
      });
      const self = new URL(`/v1/jobs/${row.id}`, c.req.url).href;
      return c.json({ id: row.id, links: { self } }, 202, { Location: self });
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/webhook-secret',
      summary: "The secrets this tenant's deliveries are signed with (one is made on first read)",
      security: [{ bearerAuth: [] }],
      responses: {
        200: { description: 'Secrets', content: { 'application/json': { schema: Secrets } } },
        ...problemResponses([401, 403, 429]),
      },
    }),
    async (c) => c.json(await secretsOf(c.env, c.get('caller')!.tenantId, false), 200),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/webhook-secret/rotate',
      summary: 'A new signing secret; the old ones keep signing for 24 hours',
      security: [{ bearerAuth: [] }],
      responses: {
        200: { description: 'Secrets', content: { 'application/json': { schema: Secrets } } },
        ...problemResponses([401, 403, 429]),
      },
    }),
    async (c) => c.json(await secretsOf(c.env, c.get('caller')!.tenantId, true), 200),
  );
}

/** What a job request carries, from a client's POST or a webhook's event. */
export interface JobFields {
  method: JobRequest['method'];
  centre: boolean;
  smooth: boolean;
  store?: boolean | undefined;
  threshold?: number | undefined;
  maps?: JobRequest['maps'];
  input: JobRequest['input'];
  faces: JobRequest['faces'];
  [image: string]: unknown;
}

/**
 * Check and keep a job (its images in R2 or referenced, its row in D1), start its Workflow
 * and hand its credit reservation to it. The id of the new job.
 */
export async function createJob(c: Context<AppEnv>, fields: JobFields, callbackUrl: string | null | undefined): Promise<string> {
  const caller = c.get('caller')!;
  const allowLoopbackHttp = c.env.KEY_ENV === 'local';
  if (fields.store === false) throw new ProblemError('invalid-request', 'jobs keep their result: store must not be false');
  if (callbackUrl) {
    const check = checkOutboundUrl(callbackUrl, { allowLoopbackHttp });
    if (!check.ok) throw new ProblemError('invalid-request', `callbackUrl refused: ${check.reason}`, { field: 'callbackUrl' });
  }
  const id = `job_${crypto.randomUUID().replace(/-/g, '')}`;
  const request: JobRequest = {
    method: fields.method,
    centre: fields.centre,
    smooth: fields.smooth,
    threshold: fields.threshold,
    maps: fields.maps,
    input: fields.input,
    faces: fields.faces,
    origin: new URL(c.req.url).origin,
    images: { a: { stored: true }, b: { stored: true } },
  };
  for (const image of ['a', 'b'] as const) {
    const ref = imageReference(fields, image);
    if ('url' in ref) {
      const check = checkOutboundUrl(ref.url, { allowLoopbackHttp });
      if (!check.ok) throw new ProblemError('invalid-request', `${image}: image URL refused: ${check.reason}`, { field: image });
      request.images[image] = { url: check.url.href };
    } else if ('upload' in ref) {
      if (!(await c.env.DATA.head(jobKeys.upload(caller.tenantId, ref.upload))))
        throw new ProblemError('invalid-request', `${image}: no upload ${ref.upload}`, { field: image });
      request.images[image] = { upload: ref.upload };
    } else {
      await c.env.DATA.put(jobKeys.image(caller.tenantId, id, image), imageSource(image, ref.bytes, c.get('limits')));
    }
  }
  const ledgerId = c.get('ledgerId')!;
  const now = Date.now();
  const row = { id, tenantId: caller.tenantId, keyId: caller.keyId, ledgerId, request, callbackUrl: callbackUrl ?? null, now };
  await bind(c.env.DB, jobSql.create(row)).run();
  await c.env.JOBS.create({ id, params: { jobId: id, tenantId: caller.tenantId } });
  // The job's Workflow settles the reservation when it ends.
  c.set('settledLater', true);
  return id;
}

/** What a request gives for one image: bytes (a file or base64), a URL, or an upload id. */
function imageReference(body: Record<string, unknown>, image: 'a' | 'b'): { bytes: ImageField } | { url: string } | { upload: string } {
  const value = body[image];
  const url = (value as { url?: string } | undefined)?.url ?? (body[`${image}Url`] as string | undefined);
  const upload = (value as { upload?: string } | undefined)?.upload ?? (body[`${image}Upload`] as string | undefined);
  const bytes = value instanceof File || (value as { base64?: string } | undefined)?.base64 !== undefined;
  if ([bytes, url, upload].filter(Boolean).length !== 1)
    throw new ProblemError(
      'invalid-request',
      `${image}: give exactly one of a file (or base64), ${image}Url / {"url"}, or ${image}Upload / {"upload"}`,
      {
        field: image,
      },
    );
  if (url) return { url };
  if (upload) return { upload };
  return { bytes: value as ImageField };
}

async function tenantJob(env: Env, id: string, tenantId: string): Promise<JobRow> {
  const row = /^job_[0-9a-f]{32}$/.test(id) ? await findJob(env.DB, id, tenantId) : undefined;
  if (!row) throw new ProblemError('not-found', `no job ${id}`);
  return row;
}

function jobBody(row: JobRow, result: z.infer<typeof ExplainResult> | null): z.infer<typeof Job> {
  return {
    id: row.id,
    status: row.status,
    attempts: row.attempts,
    createdAt: iso(row.created_at)!,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    timing: {
      queuedMs: row.started_at === null ? null : row.started_at - row.created_at,
      runMs: row.finished_at === null || row.started_at === null ? null : row.finished_at - row.started_at,
    },
    callbackUrl: row.callback_url,
    delivery: {
      status: row.delivery_status,
      attempts: row.delivery_attempts,
      deliveredAt: iso(row.delivered_at),
      lastError: row.last_delivery_error,
    },
    result,
    error: row.error ? (JSON.parse(row.error) as z.infer<typeof Problem>) : null,
  };
}

/** The tenant's active secrets; a first one made when it has none, or a new one on rotation. */
async function secretsOf(env: Env, tenantId: string, rotate: boolean) {
  const now = Date.now();
  let active = await activeSecrets(env.DB, tenantId, now);
  if (rotate || active.length === 0) {
    const statements = [
      ...(rotate ? [jobSql.retireSecrets(tenantId, now + ROTATION_OVERLAP_MS, now)] : []),
      jobSql.addSecret(tenantId, newWebhookSecret(), now),
    ];
    await env.DB.batch(statements.map((s) => bind(env.DB, s)));
    active = await activeSecrets(env.DB, tenantId, now);
  }
  return { secrets: active.map((s) => ({ secret: s.secret, createdAt: iso(s.created_at)!, expiresAt: iso(s.retired_at) })) };
}
