/**
 * @module store/keys
 * R2 object keys. Models live under `models/`; everything a tenant owns (bases, maps,
 * results) lives under `t/<tenant>/` so that per-tenant listing, quotas and deletion stay
 * one prefix away. Until API keys exist every request belongs to the `public` tenant.
 */
export const MODELS_PREFIX = 'models/';
export const MANIFEST_KEY = `${MODELS_PREFIX}manifest.json`;
export const DEFAULT_TENANT = 'public';

export const modelKey = (path: string) => `${MODELS_PREFIX}${path}`;
export const tenantPrefix = (tenant: string) => `t/${tenant}/`;
