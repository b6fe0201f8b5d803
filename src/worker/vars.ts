/**
 * @module worker/vars
 * The deployment's numeric Worker vars (strings in wrangler.toml), read with a fallback for
 * missing or invalid values.
 */
import { RATE_DEFAULTS } from '../accounts/caller.js';
import type { RatePolicy } from '../accounts/rate-limit.js';
import { ProblemError } from '../problems/problem.js';

export function intVar(value: string | undefined, fallback: number, { min = 1 }: { min?: number } = {}): number {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isFinite(n) && n >= min ? Math.floor(n) : fallback;
}

/** The rate limit of keys that set none: RATE_LIMIT_QUOTA calls per RATE_LIMIT_WINDOW seconds. */
export const rateDefaults = (env: Pick<Env, 'RATE_LIMIT_QUOTA' | 'RATE_LIMIT_WINDOW'>): RatePolicy => ({
  quota: intVar(env.RATE_LIMIT_QUOTA, RATE_DEFAULTS.quota),
  window: intVar(env.RATE_LIMIT_WINDOW, RATE_DEFAULTS.window),
});

/** Map links live this long by default (MAP_URL_TTL_SECONDS). */
export const MAP_URL_TTL_SECONDS = 7 * 24 * 3600;
export const mapLinkTtlSeconds = (env: Pick<Env, 'MAP_URL_TTL_SECONDS'>) => intVar(env.MAP_URL_TTL_SECONDS, MAP_URL_TTL_SECONDS);

/** The secret map links are signed with; a deployment without it cannot serve links (503 `misconfigured`). */
export function urlSigningSecret(env: Pick<Env, 'URL_SIGNING_SECRET'>): string {
  const secret = env.URL_SIGNING_SECRET;
  if (!secret || secret.length < 32)
    throw new ProblemError('misconfigured', 'URL_SIGNING_SECRET (at least 32 characters) is not set: map links cannot be signed');
  return secret;
}
