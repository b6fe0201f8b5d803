/**
 * @module api/middleware/image-slot
 * A request that carries images holds one of the isolate's image slots (worker/admission)
 * before its body is read, and frees it when it ends, or earlier through
 * `releaseImageSlot` (its gradient work queues elsewhere). None free in time: 503 `busy`.
 */
import type { MiddlewareHandler } from 'hono';
import { acquireImageSlot } from '../../worker/admission.js';
import type { AppEnv } from '../context.js';

export const imageSlot: MiddlewareHandler<AppEnv> = async (c, next) => {
  const release = await acquireImageSlot(c.env);
  c.set('releaseImageSlot', release);
  try {
    await next();
  } finally {
    release();
  }
};
