/**
 * Tenants, API keys, credit, rate limits, idempotency and tenancy inside workerd, with the
 * real D1 database and the real per-tenant Durable Objects (issue 14's acceptance tests).
 */
import { env } from 'cloudflare:workers';
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { accountOf } from '../../src/accounts/account.js';
import { bind, ledger, sql } from '../../src/accounts/db.js';
import { meterEvents } from '../../src/accounts/meter-events.js';
import { signUrl } from '../../src/accounts/signed-urls.js';
import { callAs, createKey, cropForm, expectProblem, fixture, seedModels, type TestKey } from './fixtures.js';

let tenantCount = 0;
/** A fresh tenant name per test, so balances and ledgers start empty whatever ran before. */
const freshTenant = (what: string) => `${what}-${Date.now().toString(36)}-${tenantCount++}`;

/**
 * The tenant's ledger once every call answered so far is settled: settlements run after
 * the response (waitUntil), so wait until the account holds no reservation; its balance()
 * also waits for the ledger writes.
 */
async function ledgerOf(tenant: string) {
  const account = accountOf(env, tenant);
  for (let waited = 0; (await account.balance(tenant)).held > 0; waited += 20) {
    if (waited > 10_000) throw new Error(`${tenant}: reservations still held after 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return ledger(env.DB, 0, Date.now() + 60_000, tenant);
}
const unitsOf = async (tenant: string) => (await ledgerOf(tenant)).reduce((s, e) => s + e.units, 0);

describe('accounts', () => {
  let amy1: Uint8Array;
  let amy2: Uint8Array;
  let raj2: Uint8Array;
  const verify = (key: TestKey | string | null, init: { headers?: Record<string, string>; body?: FormData } = {}) =>
    callAs(key, '/v1/verify', { method: 'POST', body: init.body ?? cropForm({ a: amy1, b: amy2 }), headers: init.headers });

  beforeAll(async () => {
    await seedModels();
    [amy1, amy2, raj2] = (await Promise.all(['amy/amy1', 'amy/amy2', 'raj/raj2'].map((f) => fixture(`faces/bbt/${f}.png`)))) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
  });

  describe('API keys', () => {
    it('refuses a missing, malformed, unknown, other-environment or wrong-secret key with 401 and a Bearer challenge', async () => {
      const good = await createKey(freshTenant('auth'), { units: 10 });
      const wrongSecret = good.key.replace(/[0-9a-f]{64}$/, 'f'.repeat(64));
      const unknownId = good.key.replace(/_[0-9a-f]{16}_/, '_0123456789abcdef_');
      const cases: [string | null, string][] = [
        [null, 'send an API key'],
        ['not-a-key', 'is not "Bearer'],
        [good.key.replace('xfv_local_', 'xfv_live_'), 'this is a live key'],
        [unknownId, 'unknown API key'],
        [wrongSecret, 'unknown API key'], // the same answer as an unknown id: no oracle for ids
      ];
      for (const [key, detail] of cases) {
        const res = await verify(key);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="xfv"/);
        expect((await expectProblem(res, 401, 'unauthorized')).detail).toContain(detail);
      }
      const basic = await callAs(null, '/v1/models', { headers: { authorization: `Basic ${btoa('a:b')}` } });
      await expectProblem(basic, 401, 'unauthorized');
      expect((await verify(good)).status).toBe(200);
    });

    it('revocation takes effect on the next request, and last use is recorded', async () => {
      const k = await createKey(freshTenant('revoke'), { units: 10 });
      expect((await verify(k)).status).toBe(200);
      const row = await bind(env.DB, sql.key(k.id)).first<{ last_used_at: number | null }>();
      expect(row?.last_used_at).toBeGreaterThan(Date.now() - 60_000);
      await bind(env.DB, sql.revokeKey(k.id, Date.now())).run();
      // The isolate knew the key (its account call starts beside the D1 check): still refused, not charged.
      expect((await expectProblem(await verify(k), 401, 'unauthorized')).detail).toContain('revoked');
      expect(await unitsOf(k.tenant)).toBe(1);
      expect(await accountOf(env, k.tenant).balance(k.tenant)).toMatchObject({ held: 0, available: 9 });
    });

    it('a key without the route scope gets 403 naming the scope', async () => {
      const k = await createKey(freshTenant('scope'), { scopes: ['verify'], units: 10 });
      const res = await callAs(k, '/v1/explain', { method: 'POST', body: cropForm({ a: amy1, b: amy2 }) });
      const body = await expectProblem(res, 403, 'forbidden');
      expect(body.required).toBe('explain');
      expect((await verify(k)).status).toBe(200);
    });

    it('health, docs and the OpenAPI document need no key; the document declares bearer auth', async () => {
      for (const path of ['/healthz', '/openapi.json', '/problems/unauthorized']) expect((await callAs(null, path)).status).toBe(200);
      const doc = (await (await callAs(null, '/openapi.json')).json()) as {
        components: { securitySchemes: Record<string, { scheme: string }> };
        paths: Record<string, Record<string, { security?: unknown[] }>>;
      };
      expect(doc.components.securitySchemes.bearerAuth?.scheme).toBe('bearer');
      expect(doc.paths['/v1/verify']?.post?.security).toEqual([{ bearerAuth: [] }]);
    });
  });

  describe('credit', () => {
    it('100 concurrent verifies against 50 units: exactly 50 succeed, the ledger sums to 50, nothing goes negative', async () => {
      const k = await createKey(freshTenant('credit'), { units: 50 });
      const answers = await Promise.all(Array.from({ length: 100 }, () => verify(k)));
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(50);
      expect(statuses.filter((s) => s === 402)).toHaveLength(50);
      const refused = answers.find((r) => r.status === 402)!;
      const body = await expectProblem(refused, 402, 'insufficient-credit');
      expect(body).toMatchObject({ needed: 1, available: 0 });
      const entries = await ledgerOf(k.tenant);
      expect(entries).toHaveLength(50);
      expect(new Set(entries.map((e) => e.id)).size).toBe(50);
      expect(await unitsOf(k.tenant)).toBe(50);
      expect(await accountOf(env, k.tenant).balance(k.tenant)).toEqual({ granted: 50, spent: 50, held: 0, available: 0 });
    });

    it('a grant made later is seen at once; usage shows calls, units and balance', async () => {
      const k = await createKey(freshTenant('grant'), { units: 1 });
      expect((await verify(k)).status).toBe(200);
      await expectProblem(await verify(k), 402, 'insufficient-credit');
      await bind(env.DB, sql.grant(crypto.randomUUID(), k.tenant, 5, 'top-up', Date.now())).run();
      expect((await verify(k)).status).toBe(200);
      await ledgerOf(k.tenant);
      const usage = (await (await callAs(k, '/v1/usage?granularity=day')).json()) as {
        rows: { keyId: string; operation: string; calls: number; units: number }[];
        total: { calls: number; units: number };
        balance: { available: number; granted: number };
      };
      expect(usage.total).toEqual({ calls: 2, units: 2 });
      expect(usage.rows).toEqual([expect.objectContaining({ keyId: k.id, operation: 'verify', calls: 2, units: 2 })]);
      expect(usage.balance).toMatchObject({ granted: 6, available: 4 });
    });

    it('explanations cost 1 plus 1 per new basis; a failed one is refunded', async () => {
      const k = await createKey(freshTenant('explain'), { units: 20 });
      const explain = (b: Uint8Array) =>
        callAs(k, '/v1/explain', {
          method: 'POST',
          body: cropForm({ a: amy1, b, centre: 'false', smooth: 'false', maps: 'a.similarity' }),
        });
      expect((await explain(raj2)).status).toBe(200); // two new bases
      expect(await unitsOf(k.tenant)).toBe(3);
      expect((await explain(raj2)).status).toBe(200); // both cached
      expect(await unitsOf(k.tenant)).toBe(4);
      const broken = await explain(raj2.subarray(0, 200));
      await expectProblem(broken, 422, 'undecodable-image');
      expect(await unitsOf(k.tenant)).toBe(4);
      expect(await accountOf(env, k.tenant).balance(k.tenant)).toEqual({ granted: 20, spent: 4, held: 0, available: 16 });
    });

    it('settling twice charges once; a reservation whose request died is refunded by the alarm', async () => {
      const tenant = freshTenant('settle');
      const k = await createKey(tenant, { units: 10 });
      const account = accountOf(env, tenant);
      const admit = (ledgerId: string) =>
        account.admit({ tenantId: tenant, keyId: k.id, rate: { quota: 100, window: 60 }, units: 3, ledgerId });
      expect((await admit('req-a')).outcome).toBe('admitted');
      const entry = {
        id: 'req-a',
        tenantId: tenant,
        keyId: k.id,
        operation: 'explain' as const,
        units: 2,
        at: Date.now(),
        requestId: null,
      };
      expect(await account.settle(entry)).toEqual({ settled: true });
      expect(await account.settle(entry)).toEqual({ settled: false });
      expect((await ledgerOf(tenant)).map((e) => [e.id, e.units])).toEqual([['req-a', 2]]);
      expect((await admit('req-b')).outcome).toBe('admitted');
      expect(await account.balance(tenant)).toEqual({ granted: 10, spent: 2, held: 3, available: 5 });
      // The request holding req-b never comes back: age its reservation, run the alarm.
      await runInDurableObject(account, (_obj, state) => {
        state.storage.sql.exec('UPDATE reservations SET release_ms = ?', Date.now() - 1);
      });
      expect(await runDurableObjectAlarm(account)).toBe(true);
      expect(await account.balance(tenant)).toEqual({ granted: 10, spent: 2, held: 0, available: 8 });
    });
  });

  describe('rate limits', () => {
    it('a burst beyond the bucket gets 429 with Retry-After and RateLimit headers; it refills', async () => {
      const k = await createKey(freshTenant('rate'), { units: 100, rate: { quota: 3, window: 3 } });
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await callAs(k, '/v1/usage'));
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 429]);
      for (const r of answers) expect(r.headers.get('ratelimit-policy')).toBe('"default";q=3;w=3');
      expect(answers.map((r) => /^"default";r=(\d+);t=(\d+)$/.exec(r.headers.get('ratelimit') ?? '')?.[1])).toEqual(['2', '1', '0', '0']);
      const limited = answers[3]!;
      expect(Number(limited.headers.get('retry-after'))).toBe(1);
      await expectProblem(limited, 429, 'rate-limited');
      await new Promise((r) => setTimeout(r, 1100)); // one request per second refills
      expect((await callAs(k, '/v1/usage')).status).toBe(200);
    });
  });

  describe('Idempotency-Key', () => {
    it('replays the stored response for the same key and body, charged once; another body is 422', async () => {
      const k = await createKey(freshTenant('idem'), { units: 10 });
      const body = cropForm({ a: amy1, b: amy2 });
      const headers = { 'idempotency-key': '"c0ffee-1"' };
      const first = await verify(k, { body, headers });
      expect(first.status).toBe(200);
      const again = await verify(k, { body: cropForm({ a: amy1, b: amy2 }), headers });
      expect(again.status).toBe(200);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(await again.json()).toEqual(await first.json());
      expect(await unitsOf(k.tenant)).toBe(1);
      await expectProblem(await verify(k, { body: cropForm({ a: amy1, b: raj2 }), headers }), 422, 'idempotency-conflict');
      await expectProblem(await verify(k, { headers: { 'idempotency-key': '' } }), 400, 'invalid-request');
      expect(await unitsOf(k.tenant)).toBe(1);
    });

    it('answers 409 while the first request with the key is still running, then replays it', async () => {
      const k = await createKey(freshTenant('inflight'), { units: 10 });
      const send = () =>
        callAs(k, '/v1/explain', {
          method: 'POST',
          body: cropForm({ a: amy1, b: raj2, centre: 'false', smooth: 'false', maps: 'a.similarity' }),
          headers: { 'idempotency-key': 'explain-once' },
        });
      const first = send(); // computes two bases: seconds
      await new Promise((r) => setTimeout(r, 500));
      const second = await send();
      await expectProblem(second, 409, 'idempotency-in-flight');
      expect(second.headers.get('retry-after')).toBe('1');
      expect((await first).status).toBe(200);
      const replay = await send();
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(await unitsOf(k.tenant)).toBe(3);
    });
  });

  describe('tenancy', () => {
    let a: TestKey;
    let b: TestKey;
    let links: Record<string, string>;
    beforeAll(async () => {
      a = await createKey(freshTenant('tenant-a'), { units: 20, scopes: ['verify', 'explain', 'admin'] });
      b = await createKey(freshTenant('tenant-b'), { units: 20, scopes: ['verify', 'explain', 'admin'] });
      const res = await callAs(a, '/v1/explain', {
        method: 'POST',
        body: cropForm({ a: amy1, b: amy2, centre: 'false', smooth: 'false', maps: 'a.similarity' }),
      });
      expect(res.status).toBe(200);
      links = ((await res.json()) as { maps: { a: { similarity: Record<string, string> } } }).maps.a.similarity;
    });

    it("map links are signed and work without a key; A's key reads A's maps", async () => {
      const png = new URL(links.png!);
      expect([...png.searchParams.keys()]).toEqual(['tenant', 'expires', 'signature']);
      expect(png.searchParams.get('tenant')).toBe(a.tenant);
      const res = await callAs(null, png.pathname + png.search);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/png');
      expect((await callAs(a, png.pathname)).status).toBe(200);
    });

    it("tenant B cannot read A's maps by id, by guess or by tampering with a signed link", async () => {
      const png = new URL(links.png!);
      await expectProblem(await callAs(b, png.pathname), 404, 'not-found');
      await expectProblem(await callAs(b, png.pathname.replace(/[0-9a-f]{32}/, 'f'.repeat(32))), 404, 'not-found');
      await expectProblem(await callAs(null, png.pathname), 401, 'unauthorized');
      const tampered = (edit: (u: URL) => void) => {
        const u = new URL(png);
        edit(u);
        return callAs(null, u.pathname + u.search);
      };
      await expectProblem(await tampered((u) => u.searchParams.set('tenant', b.tenant)), 403, 'forbidden');
      await expectProblem(
        await tampered((u) => u.searchParams.set('expires', String(Number(u.searchParams.get('expires')) + 3600))),
        403,
        'forbidden',
      );
      await expectProblem(await tampered((u) => (u.pathname = u.pathname.replace('/a/', '/b/'))), 403, 'forbidden');
      await expectProblem(await tampered((u) => u.searchParams.set('signature', 'A'.repeat(43))), 403, 'forbidden');
      // A validly signed link for B's tenant (what B could make if it had the secret) finds nothing.
      const forB = new URL(await signUrl(env.URL_SIGNING_SECRET, new URL(png.pathname, png), b.tenant, Math.floor(Date.now() / 1000) + 60));
      await expectProblem(await callAs(null, forB.pathname + forB.search), 404, 'not-found');
      const expired = new URL(
        await signUrl(env.URL_SIGNING_SECRET, new URL(png.pathname, png), a.tenant, Math.floor(Date.now() / 1000) - 1),
      );
      expect((await expectProblem(await callAs(null, expired.pathname + expired.search), 403, 'forbidden')).detail).toContain('expired');
    });

    it("B's usage shows none of A's calls, even asking for A's key", async () => {
      const own = (await (await callAs(b, '/v1/usage')).json()) as { tenant: string; total: { calls: number } };
      expect(own).toMatchObject({ tenant: b.tenant, total: { calls: 0 } });
      const asking = (await (await callAs(b, `/v1/usage?key=${a.id}`)).json()) as { total: { calls: number } };
      expect(asking.total.calls).toBe(0);
      const plain = await createKey(b.tenant, { scopes: ['verify'] });
      await expectProblem(await callAs(plain, `/v1/usage?key=${b.id}`), 403, 'forbidden');
      await ledgerOf(a.tenant);
      const mine = (await (await callAs(a, '/v1/usage')).json()) as { total: { calls: number; units: number } };
      expect(mine.total).toEqual({ calls: 1, units: 3 });
    });
  });

  it('the billing export matches the ledger: one meter event per entry, its id as identifier', async () => {
    const k = await createKey(freshTenant('export'), { units: 10 });
    for (let i = 0; i < 3; i++) expect((await verify(k)).status).toBe(200);
    const entries = await ledgerOf(k.tenant);
    const events = meterEvents(entries, (t) => `cus_${t}`);
    expect(events.map((e) => e.identifier)).toEqual(entries.map((e) => e.id));
    expect(events.reduce((s, e) => s + Number(e.payload.value), 0)).toBe(await unitsOf(k.tenant));
    expect(new Set(events.map((e) => e.payload.stripe_customer_id))).toEqual(new Set([`cus_${k.tenant}`]));
    for (const [e, l] of events.map((e, i) => [e, entries[i]!] as const)) expect(e.timestamp).toBe(Math.floor(l.at / 1000));
  });
});
