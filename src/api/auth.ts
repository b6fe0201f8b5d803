/**
 * @module api/auth
 * API-key authentication and scopes. `Authorization: Bearer xfv_<env>_<id>_<secret>`: the
 * key is looked up by its id in D1 on every request (so a revocation takes effect on the
 * next one), its SHA-256 compared with the stored hash in constant time, then its scope
 * checked: 401 `unauthorized` with `WWW-Authenticate`, 403 `forbidden`. Map links may
 * instead carry a signature (accounts/signed-urls), so they work in `<img>` tags.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bind, findKey, type KeyRecord, sql } from '../accounts/db.js';
import { digestsEqual, hashKey, parseKey, type Scope } from '../accounts/keys.js';
import type { Operation } from '../accounts/prices.js';
import type { RatePolicy } from '../accounts/rate-limit.js';
import { checkSignedUrl } from '../accounts/signed-urls.js';
import { appendServerTiming } from './body.js';
import { meter } from './metering.js';
import { ProblemError } from './problem.js';
import type { AppEnv } from './types.js';
import { intVar } from './vars.js';

export interface Caller {
  tenantId: string;
  keyId: string;
  scopes: readonly Scope[];
  rate: RatePolicy;
}

export const RATE_DEFAULTS: RatePolicy = { quota: 100, window: 60 };
/** last_used_at is written at most this often per key (a write per request would cost more than the lookup). */
const TOUCH_EVERY_MS = 60_000;
// Compared against when the key id is unknown, so an unknown id costs the same as a wrong secret.
const NO_HASH = '0'.repeat(64);

function unauthorized(detail: string, error?: string): ProblemError {
  const challenge = `Bearer realm="xfv"${error ? `, error="${error}", error_description="${detail}"` : ''}`;
  return new ProblemError('unauthorized', detail, {}, { 'WWW-Authenticate': challenge });
}

/** The caller a key's row describes, its rate limit defaulting to the deployment's. */
export function callerOf(record: KeyRecord, env: Env): Caller {
  return {
    tenantId: record.tenantId,
    keyId: record.id,
    scopes: record.scopes,
    rate: {
      quota: record.rateQuota ?? intVar(env.RATE_LIMIT_QUOTA, RATE_DEFAULTS.quota),
      window: record.rateWindow ?? intVar(env.RATE_LIMIT_WINDOW, RATE_DEFAULTS.window),
    },
  };
}

/** What a key's D1 row says about it, checked in full (revocation included). */
async function lookUp(c: Context<AppEnv>, id: string, hash: string): Promise<Caller> {
  const record = await findKey(c.env.DB, id);
  const matches = digestsEqual(record?.hash ?? NO_HASH, hash);
  if (!record || !matches) throw unauthorized('unknown API key', 'invalid_token');
  if (record.revokedAt !== null) throw unauthorized(`API key ${record.id} has been revoked`, 'invalid_token');
  const now = Date.now();
  if ((record.lastUsedAt ?? 0) < now - TOUCH_EVERY_MS) {
    const touch = bind(c.env.DB, sql.touchKey(record.id, now))
      .run()
      .catch((e: unknown) => console.error(JSON.stringify({ keyId: record.id, error: `last-used update failed: ${String(e)}` })));
    try {
      c.executionCtx.waitUntil(touch);
    } catch {
      await touch; // no execution context (tests calling the app directly)
    }
  }
  const caller = callerOf(record, c.env);
  remember(id, hash, caller);
  return caller;
}

/**
 * What a key's row said last time in this isolate: its hash, tenant, scopes and rate never
 * change after it is made, so a known key's account call starts at once, beside the D1
 * lookup that checks it has not been revoked (the request fails if it has).
 */
const knownKeys = new Map<string, { hash: string; caller: Caller }>();
const KNOWN_KEYS_MAX = 10_000;
function remember(id: string, hash: string, caller: Caller) {
  if (knownKeys.size >= KNOWN_KEYS_MAX) knownKeys.delete(knownKeys.keys().next().value!);
  knownKeys.set(id, { hash, caller });
}

/**
 * The caller, and a promise that settles once its key is confirmed valid in D1 (already
 * settled when the key was unknown to this isolate and had to be looked up first).
 */
async function authenticate(c: Context<AppEnv>): Promise<{ caller: Caller; verified: Promise<unknown> }> {
  const header = c.req.header('authorization');
  if (!header) throw unauthorized('send an API key: Authorization: Bearer xfv_<env>_<id>_<secret>');
  const m = /^Bearer +(\S+)\s*$/i.exec(header);
  const key = m?.[1] ?? '';
  const parsed = parseKey(key);
  if (!parsed) throw unauthorized('the Authorization header is not "Bearer xfv_<env>_<id>_<secret>"', 'invalid_token');
  const env = c.env.KEY_ENV || 'local';
  if (parsed.env !== env) throw unauthorized(`this is a ${parsed.env} key; this deployment takes ${env} keys`, 'invalid_token');
  const hash = await hashKey(key);
  const known = knownKeys.get(parsed.id);
  if (known && digestsEqual(known.hash, hash)) {
    const verified = lookUp(c, parsed.id, hash);
    verified.catch(() => {}); // awaited by authorize
    return { caller: known.caller, verified };
  }
  return { caller: await lookUp(c, parsed.id, hash), verified: Promise.resolve() };
}

/**
 * Middleware: a valid key with `scope` (any scope when null), then the tenant's account
 * (api/metering) for `operation`: rate limit, and credit when the operation is billable.
 */
export function authorize(scope: Scope | null, operation: Operation | null): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const t0 = performance.now();
    const { caller, verified } = await authenticate(c);
    const authMs = performance.now() - t0;
    if (scope && !caller.scopes.includes(scope)) {
      throw new ProblemError('forbidden', `API key ${caller.keyId} lacks the "${scope}" scope this route needs`, {
        required: scope,
        scopes: caller.scopes,
      });
    }
    c.set('caller', caller);
    const res = await meter(c, next, operation, verified);
    appendServerTiming(c.res, 'auth', authMs);
    return res;
  };
}

/** The secret map links are signed with; a deployment without it cannot serve links. */
export function urlSigningSecret(c: Context<AppEnv>): string {
  const secret = c.env.URL_SIGNING_SECRET;
  if (!secret || secret.length < 32)
    throw new ProblemError('misconfigured', 'URL_SIGNING_SECRET (at least 32 characters) is not set: map links cannot be signed');
  return secret;
}

/**
 * Map reads: a signed link (its tenant), or a bearer key with the explain scope (its
 * tenant, rate limited). Either way the map is looked up under that tenant only.
 */
export const mapAccess: MiddlewareHandler<AppEnv> = async (c, next) => {
  const url = new URL(c.req.url);
  if (url.searchParams.has('signature')) {
    const check = await checkSignedUrl(urlSigningSecret(c), url, Math.floor(Date.now() / 1000));
    if (!check.ok) throw new ProblemError('forbidden', `${check.reason}: ask /v1/explain for fresh links, or send an API key`);
    c.set('mapTenant', check.tenant);
    return next();
  }
  return authorize('explain', null)(c, async () => {
    c.set('mapTenant', c.get('caller')!.tenantId);
    await next();
  });
};
