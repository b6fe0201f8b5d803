/**
 * @module api/middleware/authenticate
 * API-key authentication. `Authorization: Bearer xfv_<env>_<id>_<secret>`: the key is
 * looked up by its id in D1 on every request (so a revocation takes effect on the next
 * one) and its SHA-256 compared with the stored hash in constant time; 401 `unauthorized`
 * with `WWW-Authenticate` when it is missing, malformed, unknown, revoked or for another
 * environment. Sets the request's `caller` and `keyCheck`; scopes are middleware/require-scope's,
 * the account's admission middleware/meter's.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { type Caller, callerOf } from '../../accounts/caller.js';
import { bind, findKey, sql } from '../../accounts/db.js';
import { digestsEqual, hashKey, parseKey } from '../../accounts/keys.js';
import { ProblemError } from '../../problems/problem.js';
import { rateDefaults } from '../../worker/vars.js';
import type { AppEnv } from '../context.js';
import { appendServerTiming } from '../request-body.js';

/** last_used_at is written at most this often per key (a write per request would cost more than the lookup). */
const TOUCH_EVERY_MS = 60_000;
// Compared against when the key id is unknown, so an unknown id costs the same as a wrong secret.
const NO_HASH = '0'.repeat(64);

function unauthorized(detail: string, error?: string): ProblemError {
  const challenge = `Bearer realm="xfv"${error ? `, error="${error}", error_description="${detail}"` : ''}`;
  return new ProblemError('unauthorized', detail, {}, { 'WWW-Authenticate': challenge });
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
  const caller = callerOf(record, rateDefaults(c.env));
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
async function checkKey(c: Context<AppEnv>): Promise<{ caller: Caller; verified: Promise<unknown> }> {
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
    verified.catch(() => {}); // awaited by middleware/meter
    return { caller: known.caller, verified };
  }
  return { caller: await lookUp(c, parsed.id, hash), verified: Promise.resolve() };
}

/** Middleware: the caller of a valid API key (401 otherwise); `Server-Timing: auth` on the answer. */
export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const t0 = performance.now();
  const { caller, verified } = await checkKey(c);
  const authMs = performance.now() - t0;
  c.set('caller', caller);
  c.set('keyCheck', verified);
  await next();
  appendServerTiming(c.res, 'auth', authMs);
};
