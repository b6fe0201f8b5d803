/**
 * @module api/context
 * What a request's context holds (Hono's Bindings and Variables), set by the middleware
 * and read by the routes.
 */
import type { Caller } from '../accounts/caller.js';
import type { Engine } from '../engine/engine.js';
import type { ImageLimits } from '../engine/image-decode.js';

export interface AppEnv {
  /** The Worker's bindings, generated from wrangler.toml by `npm run types` (src/worker-configuration.d.ts). */
  Bindings: Env;
  Variables: {
    requestId: string;
    /** The isolate's engine, loaded on first call. */
    engine: () => Promise<Engine>;
    limits: ImageLimits;
    /** Current size of the runtime's wasm heap, for /v1/models (workerd only). */
    heapBytes?: (() => number | undefined) | undefined;
    /** Frees this request's image slot early (middleware/image-slot). */
    releaseImageSlot?: () => void;
    /** The authenticated tenant and key (middleware/authenticate, or an inbound webhook's source). */
    caller?: Caller;
    /**
     * Settles once the caller's key is confirmed valid in D1 (middleware/authenticate): still
     * running when the key was known to this isolate, so the account is asked meanwhile.
     */
    keyCheck?: Promise<unknown>;
    /** The idempotency key a route makes itself (an inbound webhook's id), in place of the client's header (middleware/meter). */
    ownIdempotencyKey?: string;
    /** What a metered call costs once done, when less than its reservation (middleware/meter). */
    billedUnits?: number;
    /** The ledger id of this call's credit reservation (middleware/meter). */
    ledgerId?: string;
    /** The route handed its reservation on (a job's Workflow settles it): metering leaves it held. */
    settledLater?: boolean;
    /** The inbound webhook source of this request (middleware/hook-signature). */
    hookSource?: { id: string; callbackUrl: string | null };
    /** The tenant whose stored maps a request may read (middleware/map-access). */
    mapTenant?: string;
  };
}
