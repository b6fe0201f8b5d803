/**
 * @module api/app
 * The Hono app: request ids, CORS, body size caps, problem+json for every error, the
 * routes, the OpenAPI document and the docs pages. The engine loader is injected so the
 * same app runs in workerd and in tests.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { type EngineSource, getEngine } from '../engine/engine.js';
import { photoModelsService } from './photo-models.js';
import { ModelUnavailableError } from '../store/models.js';
import { guardBucket, StorageUnavailableError } from '../store/guarded-bucket.js';
import { problemPage, problemTable } from './docs.js';
import { ImageError } from '../image/index.js';
import { imageProblem } from './images.js';
import { registerMeta } from './meta.js';
import { PROBLEMS, ProblemError, type ProblemKind, problem } from './problem.js';
import type { AppEnv } from './types.js';
import { registerVerify } from './verify.js';
import { registerExplain } from './explain.js';
import { registerMaps } from './maps.js';
import { imageAdmission } from './admission.js';
import { intVar } from './vars.js';
import { imageLimits } from './limits.js';
import { multipartOnce } from './body.js';
import { authorize, mapAccess } from './auth.js';
import { registerUsage } from './usage.js';
import { registerJobs } from './jobs.js';
import { registerResults } from './results.js';
import { hookAuth, registerHooks } from './hooks.js';

export const DEFAULT_MAX_BODY_BYTES = 52 * 1024 * 1024;
/** Limits on the request line and headers, checked before anything else reads them. */
export const MAX_URL_BYTES = 8 * 1024;
export const MAX_HEADER_BYTES = 16 * 1024;
export const MAX_ONE_HEADER_BYTES = 8 * 1024;
/** Retry-After of a 503 `storage-unavailable`. */
export const STORAGE_RETRY_AFTER_SECONDS = 5;

const KIND_OF_STATUS: Record<number, ProblemKind> = {
  400: 'invalid-request',
  404: 'not-found',
  405: 'method-not-allowed',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  416: 'range-not-satisfiable',
  422: 'undecodable-image',
  503: 'model-unavailable',
};

export interface AppOptions {
  loadOrt: EngineSource['loadOrt'];
  /** Current size of the runtime's wasm heap, for /v1/models (workerd only). */
  heapBytes?: () => number | undefined;
}

export function createApp({ loadOrt, heapBytes }: AppOptions) {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const errors = result.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
      return problem(c, 'invalid-request', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
    },
  });

  app.use('*', requestId());
  // One structured log line per answer: its request id, route and outcome. Never the query
  // (map links carry signatures), a header (keys), or any body (images).
  app.use('*', async (c, next) => {
    const t0 = performance.now();
    await next();
    console.log(
      JSON.stringify({
        event: 'request',
        requestId: c.get('requestId'),
        method: c.req.method,
        path: new URL(c.req.url).pathname.slice(0, 200),
        status: c.res.status,
        ms: Math.round(performance.now() - t0),
        ...(c.get('caller') ? { tenant: c.get('caller')!.tenantId, keyId: c.get('caller')!.keyId } : {}),
      }),
    );
  });
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
  // Request line and header limits (RFC 9110 414, RFC 6585 431), before anything reads them.
  app.use('*', async (c, next) => {
    if (c.req.url.length > MAX_URL_BYTES)
      return problem(c, 'uri-too-long', `the URL has ${c.req.url.length} bytes; the limit is ${MAX_URL_BYTES}`);
    let total = 0;
    for (const [name, value] of c.req.raw.headers) {
      const size = name.length + value.length;
      total += size;
      if (size > MAX_ONE_HEADER_BYTES)
        return problem(c, 'headers-too-large', `header ${name.slice(0, 64)} has ${size} bytes; the limit is ${MAX_ONE_HEADER_BYTES}`);
    }
    if (total > MAX_HEADER_BYTES)
      return problem(c, 'headers-too-large', `the headers have ${total} bytes; the limit is ${MAX_HEADER_BYTES}`);
    await next();
  });
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
  app.use('*', async (c, next) => {
    // Every route sees the data bucket through the guard: storage failures become 503s.
    if (c.env?.DATA) c.env = { ...c.env, DATA: guardBucket(c.env.DATA) };
    c.set('engine', () => getEngine({ loadOrt, bucket: c.env.MODELS, photoModels: photoModelsService(c.env) }));
    c.set('limits', imageLimits(c.env));
    await next();
  });
  app.use('/v1/*', async (c, next) => {
    const maxSize = intVar(c.env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES);
    return bodyLimit({
      maxSize,
      onError: (c) => problem(c, 'payload-too-large', `the request body exceeds ${maxSize} bytes`),
    })(c, next);
  });

  // Before the routes: the key is checked and the call admitted by the tenant's account
  // (rate limit, credit, Idempotency-Key), then it waits for an image slot before its body
  // is read (an Idempotency-Key makes the account read it first, to fingerprint it).
  app.post('/v1/verify', authorize('verify', 'verify'), imageAdmission, multipartOnce);
  app.post('/v1/explain', authorize('explain', 'explain'), imageAdmission, multipartOnce);
  app.post('/v1/jobs', authorize('jobs', 'job'), imageAdmission, multipartOnce);
  app.post('/v1/uploads', authorize('jobs', null), imageAdmission, multipartOnce);
  app.post('/v1/hooks/:source', hookAuth);
  // Exact paths: a wildcard would also match /v1/jobs and meter it twice.
  app.get('/v1/jobs/:id', authorize('jobs', null));
  app.post('/v1/jobs/:id/redeliver', authorize('jobs', null));
  app.get('/v1/webhook-secret', authorize('jobs', null));
  app.post('/v1/webhook-secret/rotate', authorize('jobs', null));
  app.get('/v1/models', authorize(null, null));
  app.get('/v1/usage', authorize(null, null));
  app.delete('/v1/results/:resultId', authorize('explain', null));
  app.delete('/v1/images/:imageId', authorize('explain', null));
  app.get('/v1/maps/*', mapAccess);
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key: xfv_<env>_<id>_<secret> (docs/billing.md)',
  });

  registerMeta(app, heapBytes);
  registerVerify(app);
  registerExplain(app);
  registerMaps(app);
  registerUsage(app);
  registerJobs(app);
  registerResults(app);
  registerHooks(app);

  const openapi = {
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
  };
  app.doc31('/openapi.json', openapi);
  // The API reference itself is a static page (/docs/, Swagger UI from public/); a Worker
  // without its static assets still points people at the document.
  app.get('/docs', (c) => c.redirect('/docs/'));
  app.get('/problems/:kind', (c) => {
    const kind = c.req.param('kind') as ProblemKind;
    if (!(kind in PROBLEMS)) return problem(c, 'not-found', `no problem type ${kind}`);
    return c.html(problemPage(kind));
  });

  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    const allowed = new Set(
      app.routes.filter((r) => r.method !== 'ALL' && new RegExp(`^${r.path.replace(/:[^/]+/g, '[^/]+')}$`).test(path)).map((r) => r.method),
    );
    if (allowed.size > 0) {
      return problem(c, 'method-not-allowed', `${c.req.method} is not allowed on ${path}`, {}, { Allow: [...allowed].join(', ') });
    }
    return problem(c, 'not-found', `no route for ${c.req.method} ${path}`);
  });

  app.onError((err, c) => {
    if (err instanceof ImageError) err = imageProblem(err);
    if (err instanceof ProblemError) return problem(c, err.kind, err.message, err.extra, err.headers);
    if (err instanceof ModelUnavailableError) return problem(c, 'model-unavailable', err.message, {}, { 'Retry-After': '30' });
    if (err instanceof StorageUnavailableError) {
      console.error(
        JSON.stringify({ requestId: c.get('requestId'), event: 'storage-unavailable', operation: err.operation, cause: String(err.cause) }),
      );
      return problem(
        c,
        'storage-unavailable',
        'object storage failed while answering; nothing partial was kept',
        {},
        { 'Retry-After': String(STORAGE_RETRY_AFTER_SECONDS) },
      );
    }
    if (err instanceof HTTPException) {
      const kind = KIND_OF_STATUS[err.status] ?? 'invalid-request';
      return problem(c, kind, err.message || PROBLEMS[kind].title);
    }
    console.error(JSON.stringify({ requestId: c.get('requestId'), error: err instanceof Error ? err.stack : String(err) }));
    return problem(c, 'internal-error', 'an unexpected error occurred');
  });

  return app;
}
