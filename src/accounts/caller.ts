/**
 * @module accounts/caller
 * Who is calling: the tenant and key an API key's row describes, with its scopes and rate
 * limit (the deployment's default where the key sets none).
 */
import type { KeyRecord } from './db.js';
import type { Scope } from './keys.js';
import type { RatePolicy } from './rate-limit.js';

export interface Caller {
  tenantId: string;
  keyId: string;
  scopes: readonly Scope[];
  rate: RatePolicy;
}

/** The rate limit of a key whose row sets none, unless the deployment sets another (RATE_LIMIT_QUOTA, RATE_LIMIT_WINDOW). */
export const RATE_DEFAULTS: RatePolicy = { quota: 100, window: 60 };

/** The caller a key's row describes, its rate limit defaulting to `rateDefaults` (the deployment's). */
export function callerOf(record: KeyRecord, rateDefaults: RatePolicy): Caller {
  return {
    tenantId: record.tenantId,
    keyId: record.id,
    scopes: record.scopes,
    rate: { quota: record.rateQuota ?? rateDefaults.quota, window: record.rateWindow ?? rateDefaults.window },
  };
}
