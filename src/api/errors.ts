/**
 * @module api/errors
 * Every error below the routes becomes a problem answer here, in one place: `ProblemError`,
 * `ImageError` (which image, why), `ModelUnavailableError`, a storage failure (503 with
 * Retry-After), Hono's own HTTP errors; anything else is a logged 500. Unknown paths are
 * 404, a known path with another method 405 with `Allow`.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ImageError } from '../image/index.js';
import { imageProblem } from '../problems/image-problem.js';
import { PROBLEMS, ProblemError, type ProblemKind } from '../problems/problem.js';
import { StorageUnavailableError } from '../store/guarded-bucket.js';
import { ModelUnavailableError } from '../store/models.js';
import type { AppEnv } from './context.js';
import { problem } from './problem-response.js';

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

export const onError: ErrorHandler<AppEnv> = (err, c) => {
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
};

/** 404 for an unknown path; 405 with `Allow` for a path `app` routes under other methods. */
export const notFound =
  (app: OpenAPIHono<AppEnv>) =>
  (c: Context<AppEnv>): Response => {
    const path = new URL(c.req.url).pathname;
    const allowed = new Set(
      app.routes.filter((r) => r.method !== 'ALL' && new RegExp(`^${r.path.replace(/:[^/]+/g, '[^/]+')}$`).test(path)).map((r) => r.method),
    );
    if (allowed.size > 0) {
      return problem(c, 'method-not-allowed', `${c.req.method} is not allowed on ${path}`, {}, { Allow: [...allowed].join(', ') });
    }
    return problem(c, 'not-found', `no route for ${c.req.method} ${path}`);
  };

/** A request that fails validation: 400 `invalid-request` listing each field's error. */
export const invalidRequest = (
  result: { success: true } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } },
  c: Context,
) => {
  if (result.success) return;
  const errors = result.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
  return problem(c, 'invalid-request', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
};
