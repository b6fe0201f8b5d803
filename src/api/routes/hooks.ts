/**
 * @module api/routes/hooks
 * `POST /v1/hooks/{source}`: inbound webhooks. A configured source signs Standard-Webhooks
 * events (middleware/hook-signature checks them); an event's image references become a
 * job, run and billed as the source's API key.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { createJob } from '../../jobs/create.js';
import { hookSignature } from '../middleware/hook-signature.js';
import { meter } from '../middleware/meter.js';
import { problemResponses } from '../problem-response.js';
import { jobImage, jobOwner } from '../job-request.js';
import { newRouter } from '../router.js';
import { ExplainJson } from './explain.schemas.js';
import { callbackUrl, ImageRef } from './jobs.schemas.js';

/** An event: /v1/explain's JSON request, its images given by URL or upload id, and where to deliver the result. */
const HookEvent = z
  .object({
    type: z.literal('explanation.requested'),
    timestamp: z.string().optional(),
    data: ExplainJson.omit({ store: true }).extend({ a: ImageRef, b: ImageRef, callbackUrl }),
  })
  .openapi('HookEvent', { description: 'A Standard Webhooks event asking for an explanation of two images given by URL or upload id' });

export const hooksRouter = newRouter().openapi(
  createRoute({
    method: 'post',
    path: '/v1/hooks/{source}',
    summary: 'Inbound webhook: a signed explanation.requested event becomes a job',
    description:
      "Signed with the source's secret per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature). No API key: the source runs as its configured key.",
    // Signed by the source, not keyed: the source runs as its configured key.
    middleware: [hookSignature, meter('job')],
    request: {
      params: z.object({ source: z.string().openapi({ example: 'crm' }) }),
      body: { content: { 'application/json': { schema: HookEvent } } },
    },
    responses: {
      200: {
        description: 'A replay: the job the first delivery of this event started',
        content: { 'application/json': { schema: z.object({ id: z.string() }) } },
      },
      202: {
        description: 'Queued',
        content: { 'application/json': { schema: z.object({ id: z.string(), status: z.literal('queued') }) } },
      },
      ...problemResponses([400, 401, 402, 404, 413, 422, 429]),
    },
  }),
  async (c) => {
    const event = c.req.valid('json');
    const source = c.get('hookSource')!;
    const { a, b, callbackUrl: url, ...settings } = event.data;
    const limits = c.get('limits');
    const images = { a: jobImage(event.data, 'a', limits), b: jobImage(event.data, 'b', limits) };
    const id = await createJob(c.env, {
      ...jobOwner(c),
      settings: { ...settings, faces: settings.faces ?? {} },
      images,
      callbackUrl: url ?? source.callbackUrl,
    });
    // The job's Workflow settles the reservation when it ends.
    c.set('settledLater', true);
    const self = new URL(`/v1/jobs/${id}`, c.req.url).href;
    return c.json({ id, status: 'queued' as const, links: { self } }, 202, { Location: self });
  },
);
