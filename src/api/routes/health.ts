/**
 * @module api/routes/health
 * `GET /healthz`: liveness. The Worker answers; the model is not loaded.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { newRouter } from '../router.js';

const Health = z.object({ status: z.literal('ok'), service: z.string() }).openapi('Health');

export const healthRouter = newRouter().openapi(
  createRoute({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: the Worker answers (does not load the model)',
    responses: { 200: { description: 'Alive', content: { 'application/json': { schema: Health } } } },
  }),
  (c) => c.json({ status: 'ok' as const, service: 'xfv-edge' }, 200),
);
