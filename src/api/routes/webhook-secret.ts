/**
 * @module api/routes/webhook-secret
 * `GET /v1/webhook-secret` and `POST /v1/webhook-secret/rotate`: the secrets the tenant's
 * webhook deliveries are signed with (jobs/secrets; during a rotation the old one signs
 * too, for 24 hours).
 */
import { createRoute } from '@hono/zod-openapi';
import { signingSecrets } from '../../jobs/secrets.js';
import { apiKey, bearerAuth } from '../middleware/api-key.js';
import { problemResponses } from '../problem-response.js';
import { newRouter } from '../router.js';
import { Secrets } from './jobs.schemas.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

async function secretsBody(env: Env, tenantId: string, rotate: boolean) {
  const secrets = await signingSecrets(env, tenantId, rotate);
  return { secrets: secrets.map((s) => ({ secret: s.secret, createdAt: iso(s.createdAt)!, expiresAt: iso(s.expiresAt) })) };
}

export const webhookSecretRouter = newRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/webhook-secret',
      summary: "The secrets this tenant's deliveries are signed with (one is made on first read)",
      security: bearerAuth,
      middleware: apiKey('jobs', null),
      responses: {
        200: { description: 'Secrets', content: { 'application/json': { schema: Secrets } } },
        ...problemResponses([401, 403, 429]),
      },
    }),
    async (c) => c.json(await secretsBody(c.env, c.get('caller')!.tenantId, false), 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/webhook-secret/rotate',
      summary: 'A new signing secret; the old ones keep signing for 24 hours',
      security: bearerAuth,
      middleware: apiKey('jobs', null),
      responses: {
        200: { description: 'Secrets', content: { 'application/json': { schema: Secrets } } },
        ...problemResponses([401, 403, 429]),
      },
    }),
    async (c) => c.json(await secretsBody(c.env, c.get('caller')!.tenantId, true), 200),
  );
