/**
 * @module api/middleware/hook-signature
 * Inbound webhooks (`POST /v1/hooks/{source}`): a configured source (`npm run keys -- hook`)
 * signs Standard-Webhooks events with its own secret. The signature and timestamp (5
 * minutes' tolerance) are checked by the `standardwebhooks` package before anything else:
 * a bad signature is 401, a stale or future timestamp 400. The event then runs as the
 * source's API key (`caller`, which must be valid and have the jobs scope), metered by
 * middleware/meter under the event's `webhook-id`, so a replay of an event answers 200
 * with the job the first one started, without a second.
 */
import type { MiddlewareHandler } from 'hono';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { callerOf } from '../../accounts/caller.js';
import { bind, findKey } from '../../accounts/db.js';
import { hookSql, type SourceRow } from '../../jobs/db.js';
import { ProblemError } from '../../problems/problem.js';
import { rateDefaults } from '../../worker/vars.js';
import type { AppEnv } from '../context.js';

/** Events carry references, not images. */
export const MAX_EVENT_BYTES = 64 * 1024;
const SOURCE_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** Middleware: the source's signature, then its key as the caller; run before middleware/meter. */
export const hookSignature: MiddlewareHandler<AppEnv> = async (c, next) => {
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
  c.set('caller', callerOf(key, rateDefaults(c.env)));
  c.set('hookSource', { id: source.id, callbackUrl: source.callback_url });
  c.set('ownIdempotencyKey', `hook ${source.id} ${headers['webhook-id']}`);
  await next();
  // A replay of an event (middleware/meter answered the first one's stored response): 200 with its job.
  if (c.res.headers.get('Idempotent-Replayed') === 'true') c.res = new Response(c.res.body, { status: 200, headers: c.res.headers });
};
