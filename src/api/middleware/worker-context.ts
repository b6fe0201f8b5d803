/**
 * @module api/middleware/worker-context
 * What every route takes from the Worker: the data bucket behind the guard that turns
 * storage failures into 503s, the isolate's engine (loaded on first call), the image
 * limits of this deployment, and the size of the runtime's wasm heap.
 */
import type { MiddlewareHandler } from 'hono';
import type { OrtModule } from '../../engine/embed.js';
import { guardBucket } from '../../store/guarded-bucket.js';
import { workerEngine } from '../../worker/engine.js';
import { imageLimits } from '../../worker/limits.js';
import type { AppEnv } from '../context.js';

export interface WorkerRuntime {
  loadOrt: () => Promise<OrtModule>;
  /** Current size of the runtime's wasm heap (workerd only). */
  heapBytes?: (() => number | undefined) | undefined;
}

export const workerContext =
  ({ loadOrt, heapBytes }: WorkerRuntime): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    if (c.env?.DATA) c.env = { ...c.env, DATA: guardBucket(c.env.DATA) };
    c.set('engine', () => workerEngine(c.env, loadOrt));
    c.set('limits', imageLimits(c.env));
    c.set('heapBytes', heapBytes);
    await next();
  };
