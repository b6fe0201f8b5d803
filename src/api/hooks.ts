/**
 * @module api/hooks
 * `POST /v1/hooks/{source}`: inbound webhooks. A configured source (`npm run keys -- hook`)
 * signs Standard-Webhooks events with its own secret; the event's image references become a
 * job, run and billed as the source's API key. The signature and timestamp (5 minutes'
 * tolerance) are checked by the `standardwebhooks` package before anything else; a bad
 * signature is 401, a stale or future timestamp 400, and a replay of an event (the same
 * `webhook-id` and body) answers 200 with the job the first one started, without a second.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { bind, findKey } from '../accounts/db.js';
import { hookSql, type SourceRow } from '../jobs/db.js';
import { callerOf } from './auth.js';
import { callbackUrl, createJob, ImageRef } from './jobs.js';
import { meter } from './metering.js';
import { ProblemError } from './problem.js';
import { problemResponses } from './schemas.js';
import type { AppEnv } from './types.js';
import { DEFAULT_EXPLANATION, EXPLAIN_METHODS } from '../engine/explanation.js';
import { INPUT_KINDS } from '../engine/inputs.js';
import { MAP_SELECTORS } from '../xfv/maps.js';

/** Events carry references, not images. */
export const MAX_EVENT_BYTES = 64 * 1024;
const SOURCE_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;

const HookEvent = z
  .object({
    type: z.literal('explanation.requested'),
    timestamp: z.string().optional(),
    data: z.object({
      a: ImageRef,
      b: ImageRef,
      callbackUrl,
      method: z.enum(EXPLAIN_METHODS).default(DEFAULT_EXPLANATION.method),
      centre: z.boolean().default(DEFAULT_EXPLANATION.centre),
      smooth: z.boolean().default(DEFAULT_EXPLANATION.smooth),
      threshold: z.number().min(-1).max(1).optional(),
      input: z.enum(INPUT_KINDS).default('photo'),
      maps: z.array(z.enum(MAP_SELECTORS)).min(1).optional(),
    }),
  })
  .openapi('HookEvent', { description: 'A Standard Webhooks event asking for an explanation of two images given by URL or upload id' });

/** Middleware: the source's signature, then its key's account (rate limit, credit, replay by webhook-id). */
export const hookAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const sourceId = c.req.param('source') ?? '';
  const source = SOURCE_ID.test(sourceId) ? await bind(c.env.DB, hookSql.source(sourceId)).first<SourceRow>() : null;
  if (!source) throw new ProblemError('not-found', `no webhook source ${sourceId}`);
  const declared = Number(c.req.header('content-length') ?? 0);
  if (declared > MAX_EVENT_BYTES) throw new ProblemError('payload-too-large', `events are at most ${MAX_EVENT_BYTES} bytes`);
  const body = await c.req.text();
  if (body.length > MAX_EVENT_BYTES) throw new ProblemError('payload-too-large', `events are at most ${MAX_EVENT_BYTES} bytes`);
  const headers = {
    'webhook-id': c.req.header('webhook-id') ?? '',
    'webhook-timestamp': c.req.header('webhook-timestamp') ?? '',
    'webhook-signature': c.req.header('webhook-signature') ?? '',
  };
  try {
    new Webhook(source.secret).verify(body, headers);
  } catch (e) {
    if (!(e instanceof WebhookVerificationError)) throw e;
    if (/timestamp/i.test(e.message) && !/missing/i.test(e.message))
      throw new ProblemError('stale-webhook', `the event's webhook-timestamp is more than 5 minutes from now: ${e.message}`);
    throw new ProblemError('unauthorized', `the event's signature does not verify for source ${source.id}: ${e.message}`);
  }
  const key = await findKey(c.env.DB, source.key_id);
  if (!key || key.revokedAt !== null) throw new ProblemError('unauthorized', `the API key of source ${source.id} is revoked`);
  if (!key.scopes.includes('jobs'))
    throw new ProblemError('forbidden', `the API key of source ${source.id} lacks the "jobs" scope`, { required: 'jobs' });
  c.set('caller', callerOf(key, c.env));
  c.set('hookSource', { id: source.id, callbackUrl: source.callback_url });
  const replayed = await meter(c, next, 'job', Promise.resolve(), `hook ${source.id} ${headers['webhook-id']}`);
  // A replay of an event: 200 with the first event's job.
  if (replayed) return new Response(replayed.body, { status: 200, headers: replayed.headers });
  return undefined;
};

export function registerHooks(app: OpenAPIHono<AppEnv>) {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/hooks/{source}',
      summary: 'Inbound webhook: a signed explanation.requested event becomes a job',
      description:
        "Signed with the source's secret per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature). No API key: the source runs as its configured key.",
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
      const { callbackUrl: url, ...fields } = event.data;
      const id = await createJob(c, { ...fields, faces: {} }, url ?? source.callbackUrl);
      const self = new URL(`/v1/jobs/${id}`, c.req.url).href;
      return c.json({ id, status: 'queued' as const, links: { self } }, 202, { Location: self });
    },
  );
}
