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
import { bind } from '../accounts/db.js';
import { activeSecrets, findJob, jobKeys, jobSql, type JobRequest, type JobRow } from '../jobs/db.js';
import { checkOutboundUrl } from '../jobs/guarded-url.js';
import { newWebhookSecret } from '../jobs/webhooks.js';
import { bodyMediaType } from './body.js';
import { pairSources } from './images.js';
import { ProblemError } from './problem.js';
import { ExplainForm, ExplainJson, ExplainResult, faceChoices, problemResponses } from './schemas.js';
import type { AppEnv } from './types.js';

/** How long a rotated-out secret keeps signing. */
export const ROTATION_OVERLAP_MS = 24 * 3600_000;

const callbackUrl = z.url().max(2048).optional().openapi({
  description: 'https URL that receives a Standard-Webhooks-signed event (explanation.succeeded / explanation.failed) when the job ends',
  example: 'https://example.com/hooks/xfv',
});
const JobForm = ExplainForm.extend({ callbackUrl }).openapi('JobForm');
const JobJson = ExplainJson.extend({ callbackUrl }).openapi('JobJson');

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
    result: ExplainResult.nullable().openapi({ description: 'Once succeeded: what /v1/explain answers' }),
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
      const caller = c.get('caller')!;
      if (body.store === false) throw new ProblemError('invalid-request', 'jobs keep their result: store must not be false');
      if (body.callbackUrl) {
        const check = checkOutboundUrl(body.callbackUrl, { allowLoopbackHttp: c.env.KEY_ENV === 'local' });
        if (!check.ok) throw new ProblemError('invalid-request', `callbackUrl refused: ${check.reason}`, { field: 'callbackUrl' });
      }
      const sources = pairSources(body, c.get('limits'));
      const id = `job_${crypto.randomUUID().replace(/-/g, '')}`;
      const now = Date.now();
      const request: JobRequest = {
        method: body.method,
        centre: body.centre,
        smooth: body.smooth,
        threshold: body.threshold,
        maps: body.maps,
        input: body.input,
        faces: faceChoices(body),
        origin: new URL(c.req.url).origin,
      };
      await Promise.all((['a', 'b'] as const).map((image) => c.env.DATA.put(jobKeys.image(caller.tenantId, id, image), sources[image])));
      const ledgerId = c.get('ledgerId')!;
      await bind(
        c.env.DB,
        jobSql.create({
          id,
          tenantId: caller.tenantId,
          keyId: caller.keyId,
          ledgerId,
          request,
          callbackUrl: body.callbackUrl ?? null,
          now,
        }),
      ).run();
      await c.env.JOBS.create({ id, params: { jobId: id, tenantId: caller.tenantId } });
      // The job's Workflow settles the reservation when it ends.
      c.set('settledLater', true);
      const self = new URL(`/v1/jobs/${id}`, c.req.url).href;
      return c.json({ id, status: 'queued' as const, links: { self } }, 202, { Location: self });
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
      const result = row.status === 'succeeded' ? await (await c.env.DATA.get(jobKeys.result(row.tenant_id, row.id)))?.json() : null;
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
      await bind(c.env.DB, jobSql.redeliver(row.id)).run();
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
