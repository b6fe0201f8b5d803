/**
 * @module api/routes/jobs
 * Asynchronous explanations (jobs/explain-job): `POST /v1/jobs` takes what /v1/explain
 * takes plus `callbackUrl`, keeps the images in R2 (jobs/create), starts the job's Workflow
 * and answers 202 with its id and a Location at once; `GET /v1/jobs/{id}` its state and,
 * once it succeeded, the /v1/explain body; `POST /v1/jobs/{id}/redeliver` delivers its
 * webhook again.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { createJob, redeliverJob, tenantJob } from '../../jobs/create.js';
import { jobKeys, type JobRow } from '../../jobs/db.js';
import { type ProblemDetails, ProblemError } from '../../problems/problem.js';
import { apiKey, bearerAuth } from '../middleware/api-key.js';
import { imageSlot } from '../middleware/image-slot.js';
import { multipartOnce } from '../middleware/multipart-once.js';
import { problemResponses } from '../problem-response.js';
import { bodyMediaType } from '../request-body.js';
import { jobImage, jobOwner } from '../job-request.js';
import { newRouter } from '../router.js';
import type { ExplainResult } from './explain.schemas.js';
import { Accepted, Job, JobForm, JobJson } from './jobs.schemas.js';
import { faceChoices } from './verify.schemas.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const JobId = z.object({ id: z.string().openapi({ example: 'job_3f2a…' }) });

export const jobsRouter = newRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/jobs',
      summary: 'Explain two faces asynchronously; the result is delivered to callbackUrl',
      security: bearerAuth,
      middleware: [...apiKey('jobs', 'job'), imageSlot, multipartOnce],
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
      if (body.store === false) throw new ProblemError('invalid-request', 'jobs keep their result: store must not be false');
      const images = { a: jobImage(body, 'a', c.get('limits')), b: jobImage(body, 'b', c.get('limits')) };
      const id = await createJob(c.env, {
        ...jobOwner(c),
        settings: { ...body, faces: faceChoices(body) },
        images,
        callbackUrl: body.callbackUrl,
      });
      // The job's Workflow settles the reservation when it ends.
      c.set('settledLater', true);
      const self = new URL(`/v1/jobs/${id}`, c.req.url).href;
      return c.json({ id, status: 'queued' as const, links: { self } }, 202, { Location: self });
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/jobs/{id}',
      summary: "A job's state, and its result once it succeeded",
      security: bearerAuth,
      middleware: apiKey('jobs', null),
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
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/jobs/{id}/redeliver',
      summary: "Deliver a finished job's webhook again (the same webhook-id)",
      security: bearerAuth,
      middleware: apiKey('jobs', null),
      request: { params: JobId },
      responses: {
        202: { description: 'Delivery restarted', content: { 'application/json': { schema: Accepted.omit({ status: true }) } } },
        ...problemResponses([400, 401, 403, 404, 409, 429]),
      },
    }),
    async (c) => {
      const row = await tenantJob(c.env, c.req.valid('param').id, c.get('caller')!.tenantId);
      await redeliverJob(c.env, row);
      const self = new URL(`/v1/jobs/${row.id}`, c.req.url).href;
      return c.json({ id: row.id, links: { self } }, 202, { Location: self });
    },
  );

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
    error: row.error ? (JSON.parse(row.error) as ProblemDetails) : null,
  };
}
