/**
 * @module api/middleware/multipart-once
 * A multipart body goes to the route's validator through request-body `formDataOnce`:
 * parsed once by the runtime, without Hono's second copy.
 */
import type { MiddlewareHandler } from 'hono';
import { formDataOnce } from '../request-body.js';

export const multipartOnce: MiddlewareHandler = async (c, next) => {
  if (/^multipart\/form-data/i.test(c.req.header('content-type') ?? '')) void formDataOnce(c);
  await next();
};
