/**
 * @module api/types
 * Hono context types shared by the routes.
 */
import type { Engine } from '../engine/engine.js';
import type { Env } from '../env.js';
import type { ImageLimits } from './images.js';

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    /** The isolate's engine, loaded on first call. */
    engine: () => Promise<Engine>;
    limits: ImageLimits;
    /** Frees this request's image slot early (api/admission). */
    releaseImageSlot?: () => void;
  };
}
