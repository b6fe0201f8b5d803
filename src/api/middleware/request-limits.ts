/**
 * @module api/middleware/request-limits
 * Size limits checked before anything reads a request: the URL (RFC 9110 414) and the
 * headers (RFC 6585 431) on every request, and the body of every /v1 request
 * (MAX_BODY_BYTES; 413).
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { intVar } from '../../worker/vars.js';
import type { AppEnv } from '../context.js';
import { problem } from '../problem-response.js';

export const DEFAULT_MAX_BODY_BYTES = 52 * 1024 * 1024;
/** Limits on the request line and headers, checked before anything else reads them. */
export const MAX_URL_BYTES = 8 * 1024;
export const MAX_HEADER_BYTES = 16 * 1024;
export const MAX_ONE_HEADER_BYTES = 8 * 1024;

export const requestLineLimits: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.url.length > MAX_URL_BYTES)
    return problem(c, 'uri-too-long', `the URL has ${c.req.url.length} bytes; the limit is ${MAX_URL_BYTES}`);
  let total = 0;
  for (const [name, value] of c.req.raw.headers) {
    const size = name.length + value.length;
    total += size;
    if (size > MAX_ONE_HEADER_BYTES)
      return problem(c, 'headers-too-large', `header ${name.slice(0, 64)} has ${size} bytes; the limit is ${MAX_ONE_HEADER_BYTES}`);
  }
  if (total > MAX_HEADER_BYTES) return problem(c, 'headers-too-large', `the headers have ${total} bytes; the limit is ${MAX_HEADER_BYTES}`);
  await next();
};

export const bodySizeLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  const maxSize = intVar(c.env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES);
  return bodyLimit({
    maxSize,
    onError: (c) => problem(c, 'payload-too-large', `the request body exceeds ${maxSize} bytes`),
  })(c, next);
};
