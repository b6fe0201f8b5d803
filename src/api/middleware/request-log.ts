/**
 * @module api/middleware/request-log
 * One structured log line per answer: its request id, route and outcome, and the tenant and
 * key when known. Never the query (map links carry signatures), a header (keys), or any
 * body (images).
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.js';

export const requestLog: MiddlewareHandler<AppEnv> = async (c, next) => {
  const t0 = performance.now();
  await next();
  const caller = c.get('caller');
  console.log(
    JSON.stringify({
      event: 'request',
      requestId: c.get('requestId'),
      method: c.req.method,
      path: new URL(c.req.url).pathname.slice(0, 200),
      status: c.res.status,
      ms: Math.round(performance.now() - t0),
      ...(caller ? { tenant: caller.tenantId, keyId: caller.keyId } : {}),
    }),
  );
};
