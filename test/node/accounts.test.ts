/**
 * The pure parts of accounts: key format and hashing, the constant-time compare, the token
 * bucket and its headers, signed map links, prices, and the CLI's SQL literals. (Auth,
 * credit and idempotency through the Worker: test/workers/accounts.test.ts.)
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sql } from '../../src/accounts/db.js';
import { digestsEqual, generateKey, hashKey, parseKey, parseScopes } from '../../src/accounts/keys.js';
import { explanationUnits, maxUnits } from '../../src/accounts/prices.js';
import { type Bucket, rateLimitHeaders, takeToken } from '../../src/accounts/rate-limit.js';
import { checkSignedUrl, signUrl } from '../../src/accounts/signed-urls.js';
import { inline } from '../../src/cli/d1.js';

describe('API keys', () => {
  it('are xfv_<env>_<16 hex id>_<64 hex secret>, stored as the SHA-256 of the whole key', async () => {
    const { key, id, hash } = await generateKey('live');
    expect(key).toMatch(/^xfv_live_[0-9a-f]{16}_[0-9a-f]{64}$/);
    expect(parseKey(key)).toEqual({ env: 'live', id });
    expect(hash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(await hashKey(key)).toBe(hash);
    const other = await generateKey('live');
    expect(other.id).not.toBe(id);
    for (const bad of ['', 'xfv_live_abc_def', `${key}0`, key.replace('live', 'prod'), key.toUpperCase(), ` ${key}`])
      expect(parseKey(bad)).toBeUndefined();
  });

  it('compares digests without an early exit, and only equal-length ones', () => {
    const a = 'ab'.repeat(32);
    expect(digestsEqual(a, a)).toBe(true);
    expect(digestsEqual(a, `c${a.slice(1)}`)).toBe(false); // differs in the first character
    expect(digestsEqual(a, `${a.slice(0, -1)}c`)).toBe(false); // … and in the last
    expect(digestsEqual(a, a.slice(1))).toBe(false);
  });

  it('knows its scopes', () => {
    expect(parseScopes('verify, explain,verify')).toEqual(['verify', 'explain']);
    expect(() => parseScopes('verify,billing')).toThrow(/unknown scope billing/);
  });
});

describe('token bucket', () => {
  const policy = { quota: 4, window: 2 }; // 2 per second, burst 4
  it('allows a burst of q, then refuses with Retry-After until a token has refilled', () => {
    let bucket: Bucket | undefined;
    const seen = [];
    for (let i = 0; i < 5; i++) {
      const d = takeToken(policy, bucket, 1000);
      bucket = d.bucket;
      seen.push([d.allowed, d.remaining, d.resetSeconds, d.retryAfterSeconds]);
    }
    expect(seen).toEqual([
      [true, 3, 1, 0],
      [true, 2, 1, 0],
      [true, 1, 2, 0],
      [true, 0, 2, 0],
      [false, 0, 2, 1],
    ]);
    expect(takeToken(policy, bucket, 1400).allowed).toBe(false); // 0.8 tokens
    expect(takeToken(policy, bucket, 1500).allowed).toBe(true); // 1 token
    expect(takeToken(policy, bucket, 60_000).remaining).toBe(3); // never above q
  });

  it('writes the IETF RateLimit headers', () => {
    const d = takeToken({ quota: 100, window: 60 }, undefined, 0);
    expect(rateLimitHeaders({ quota: 100, window: 60 }, d)).toEqual({
      'RateLimit-Policy': '"default";q=100;w=60',
      RateLimit: '"default";r=99;t=1',
    });
  });
});

describe('signed map links', () => {
  const secret = 'x'.repeat(40);
  const url = new URL('https://xfv.example/v1/maps/0123456789abcdef0123456789abcdef/a/similarity.png');
  it('verify for their tenant, path and expiry only', async () => {
    const signed = new URL(await signUrl(secret, url, 'acme', 2000));
    expect(await checkSignedUrl(secret, signed, 1999)).toEqual({ ok: true, tenant: 'acme' });
    expect(await checkSignedUrl(secret, signed, 2000)).toEqual({ ok: false, reason: 'the link has expired' });
    expect((await checkSignedUrl('y'.repeat(40), signed, 0)).ok).toBe(false);
    for (const [param, value] of [
      ['tenant', 'acme2'],
      ['expires', '2001'],
      ['signature', 'A'.repeat(43)],
      ['signature', 'short'],
    ] as const) {
      const t = new URL(signed);
      t.searchParams.set(param, value);
      expect((await checkSignedUrl(secret, t, 0)).ok, param).toBe(false);
    }
    const moved = new URL(signed);
    moved.pathname = moved.pathname.replace('/a/', '/b/');
    expect(await checkSignedUrl(secret, moved, 0)).toEqual({ ok: false, reason: 'the link signature is invalid' });
  });
});

describe('prices', () => {
  it('reserve the most an operation can cost, and charge what it did', () => {
    expect(maxUnits('verify')).toBe(1);
    expect(maxUnits('explain')).toBe(3);
    expect(explanationUnits('fggb', ['miss', 'miss'])).toBe(3);
    expect(explanationUnits('fggb', ['hit', 'miss'])).toBe(2);
    expect(explanationUnits('xssab', ['hit', 'hit'])).toBe(1);
    expect(explanationUnits('corrrise', ['none', 'none'])).toBe(3);
  });
});

describe('CLI SQL', () => {
  it('writes parameters as literals, quotes doubled', () => {
    expect(inline(sql.grant('g1', "o'brien", 5, null, 7))).toBe(
      "INSERT INTO credit_grants (id, tenant_id, units, note, created_at) VALUES ('g1', 'o''brien', 5, NULL, 7)",
    );
    expect(() => inline({ sql: 'SELECT ?', params: [] })).toThrow(/too few/);
    expect(() => inline({ sql: 'SELECT ?', params: [Number.NaN] })).toThrow(/finite/);
  });
});
