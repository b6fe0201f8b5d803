/**
 * @module api/app
 * The Hono app: the middleware every request passes (request id, log line, security
 * headers, request size limits, CORS, the Worker's context), one router per resource (each
 * route declares its own middleware: key, scope, metering, image slot), the OpenAPI
 * document, the problem pages, and problem+json for every error (api/errors). The
 * runtime (onnxruntime's loader, the heap size) is injected so the same app runs in workerd,
 * in tests and in the OpenAPI generator.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { cors } from 'hono/cors';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { PROBLEMS, type ProblemKind } from '../problems/problem.js';
import type { AppEnv } from './context.js';
import { invalidRequest, notFound, onError } from './errors.js';
import { bodySizeLimit, requestLineLimits } from './middleware/request-limits.js';
import { requestLog } from './middleware/request-log.js';
import { type WorkerRuntime, workerContext } from './middleware/worker-context.js';
import { problemPage, problemTable } from './problem-pages.js';
import { problem } from './problem-response.js';
import { explainRouter } from './routes/explain.js';
import { healthRouter } from './routes/health.js';
import { hooksRouter } from './routes/hooks.js';
import { imagesRouter } from './routes/images.js';
import { jobsRouter } from './routes/jobs.js';
import { mapsRouter } from './routes/maps.js';
import { modelsRouter } from './routes/models.js';
import { resultsRouter } from './routes/results.js';
import { uploadsRouter } from './routes/uploads.js';
import { usageRouter } from './routes/usage.js';
import { verifyRouter } from './routes/verify.js';
import { webhookSecretRouter } from './routes/webhook-secret.js';

const ROUTERS = [
  healthRouter,
  modelsRouter,
  verifyRouter,
  explainRouter,
  mapsRouter,
  usageRouter,
  jobsRouter,
  uploadsRouter,
  webhookSecretRouter,
  resultsRouter,
  imagesRouter,
  hooksRouter,
];

export function createApp(runtime: WorkerRuntime) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: invalidRequest });

  app.use('*', requestId());
  app.use('*', requestLog);
  // Security headers on every answer of the Worker (the static pages get theirs from
  // public/_headers). The API answers JSON, problems and images: nothing may run or frame
  // them; the problem pages only need their inline <style>. Map links are meant for <img>
  // tags on clients' own pages, so resources may be loaded cross-origin.
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: { defaultSrc: ["'none'"], styleSrc: ["'unsafe-inline'"], frameAncestors: ["'none'"], baseUri: ["'none'"] },
      crossOriginResourcePolicy: 'cross-origin',
      xFrameOptions: 'DENY',
    }),
  );
  app.use('*', requestLineLimits);
  app.use(
    '*',
    cors({
      origin: '*',
      allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'If-None-Match', 'Range'],
      exposeHeaders: [
        'X-Request-Id',
        'Server-Timing',
        'Content-Length',
        'ETag',
        'RateLimit',
        'RateLimit-Policy',
        'Retry-After',
        'Idempotent-Replayed',
        'X-Map-Shape',
        'X-Map-Channels',
      ],
    }),
  );
  app.use('*', workerContext(runtime));
  app.use('/v1/*', bodySizeLimit);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key: xfv_<env>_<id>_<secret> (docs/billing.md)',
  });
  for (const router of ROUTERS) app.route('/', router);

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'xfv-edge',
      version: '0.1.0',
      description: [
        'Explainable face verification at the edge: decide whether two faces match and explain why.',
        'Every `/v1` route but the health checks takes an API key: `Authorization: Bearer xfv_<env>_<id>_<secret>` (press **Authorize**). A typed client: `@xfv/client` (client/ in the repository).',
        '## Errors',
        'Every error is `application/problem+json` (RFC 9457) with one of these `type`s:',
        problemTable(),
      ].join('\n\n'),
    },
  });
  // The API reference itself is a static page (/docs/, Swagger UI from public/); a Worker
  // without its static assets still points people at the document.
  app.get('/docs', (c) => c.redirect('/docs/'));
  app.get('/problems/:kind', (c) => {
    const kind = c.req.param('kind') as ProblemKind;
    if (!(kind in PROBLEMS)) return problem(c, 'not-found', `no problem type ${kind}`);
    return c.html(problemPage(kind));
  });

  app.notFound(notFound(app));
  app.onError(onError);
  return app;
}
