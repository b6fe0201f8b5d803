/**
 * @module api/types
 * Hono context types shared by the routes.
 */
import type { Engine } from '../engine/engine.js';
import type { ImageLimits } from '../engine/verify.js';
import type { Caller } from './auth.js';

export interface AppEnv {
  /** The Worker's bindings, generated from wrangler.toml by `npm run types` (src/worker-configuration.d.ts). */
  Bindings: Env;
  Variables: {
    requestId: string;
    /** The isolate's engine, loaded on first call. */
    engine: () => Promise<Engine>;
    limits: ImageLimits;
    /** Frees this request's image slot early (api/admission). */
    releaseImageSlot?: () => void;
    /** The authenticated tenant and key (api/auth). */
    caller?: Caller;
    /** What a metered call costs once done, when less than its reservation (api/metering). */
    billedUnits?: number;
    /** The ledger id of this call's credit reservation (api/metering). */
    ledgerId?: string;
    /** The route handed its reservation on (a job's Workflow settles it): metering leaves it held. */
    settledLater?: boolean;
    /** The inbound webhook source of this request (api/hooks). */
    hookSource?: { id: string; callbackUrl: string | null };
    /** The tenant whose stored maps a request may read (api/auth mapAccess). */
    mapTenant?: string;
  };
}
