/**
 * Asynchronous explanation jobs inside workerd: the real Workflow (sleeps between delivery
 * attempts disabled), D1, R2 and the tenant's account; deliveries go to the Node-side
 * receivers of test/workers/vitest.config.ts and are verified with the `standardwebhooks`
 * package, as a customer would.
 */
import { introspectWorkflow } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountOf } from '../../src/accounts/account.js';
import { bind, ledger } from '../../src/accounts/db.js';
import { hookSql } from '../../src/jobs/db.js';
import { callAs, createKey, cropForm, fixture, fixtureResponse, seedModels, type TestKey } from './fixtures.js';

interface JobBody {
  id: string;
  status: string;
  attempts: number;
  delivery: { status: string; attempts: number; lastError: string | null };
  result: { decision: string; similarity: number; resultId: string; maps: { a: { similarity: Record<string, string> } } } | null;
  error: { type: string; status: number } | null;
  timing: { queuedMs: number | null; runMs: number | null };
}
interface Delivery {
  headers: Record<string, string>;
  body: string;
  answered: number;
}

let runs = 0;
const receiver = (behaviour: 'ok' | 'flaky' | 'gone' | 'down') => {
  const name = `r${Date.now().toString(36)}${runs++}`;
  return { name, url: `https://hooks.example/${behaviour}/${name}` };
};
const deliveriesTo = async (name: string) => (await (await fixtureResponse(`deliveries/${name}`)).json()) as Delivery[];

describe('jobs', () => {
  let key: TestKey;
  let amy1: Uint8Array;
  let raj2: Uint8Array;
  let secret: string;
  let workflows: Awaited<ReturnType<typeof introspectWorkflow>>;

  const submit = (fields: Record<string, Uint8Array | string>, headers: Record<string, string> = {}, as: TestKey = key) =>
    callAs(as, '/v1/jobs', {
      method: 'POST',
      body: cropForm({ centre: 'false', smooth: 'false', maps: 'a.similarity', ...fields }),
      headers,
    });

  /** GET the job until it has ended and is not delivering any more. */
  async function settled(id: string, as: TestKey = key): Promise<JobBody> {
    for (let waited = 0; ; waited += 250) {
      const res = await callAs(as, `/v1/jobs/${id}`);
      expect(res.status).toBe(200);
      const job = (await res.json()) as JobBody;
      if ((job.status === 'succeeded' || job.status === 'failed') && job.delivery.status !== 'pending') return job;
      if (waited > 100_000) throw new Error(`job ${id} still ${job.status}, delivery ${job.delivery.status}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  beforeAll(async () => {
    await seedModels();
    [amy1, raj2] = (await Promise.all(['amy/amy1', 'raj/raj2'].map((f) => fixture(`faces/bbt/${f}.png`)))) as [Uint8Array, Uint8Array];
    key = await createKey(`jobs-${Date.now().toString(36)}`, { scopes: ['verify', 'explain', 'jobs'], units: 100 });
    const secrets = (await (await callAs(key, '/v1/webhook-secret')).json()) as { secrets: { secret: string }[] };
    secret = secrets.secrets[0]!.secret;
    // Deliveries retry after durable sleeps (5 s, 5 min, …): skipped here.
    workflows = await introspectWorkflow(env.JOBS);
    await workflows.modifyAll(async (m) => m.disableSleeps());
  });
  afterAll(async () => {
    await workflows.dispose();
  });

  it('queues an explanation (202 + Location), runs it, and delivers a signed event with retries', async () => {
    const hook = receiver('flaky');
    const res = await submit({ a: amy1, b: raj2, callbackUrl: hook.url });
    expect(res.status, await res.clone().text()).toBe(202);
    const accepted = (await res.json()) as { id: string; status: string; links: { self: string } };
    expect(accepted.status).toBe('queued');
    expect(accepted.id).toMatch(/^job_[0-9a-f]{32}$/);
    expect(res.headers.get('location')).toBe(accepted.links.self);

    const job = await settled(accepted.id);
    expect(job.status).toBe('succeeded');
    expect(job.attempts).toBe(1);
    expect(job.result).toMatchObject({ decision: 'reject', resultId: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(job.timing.runMs).toBeGreaterThan(0);
    // The result's map links are signed and work without a key.
    const png = new URL(job.result!.maps.a.similarity.png!);
    expect((await callAs(null, png.pathname + png.search)).status).toBe(200);

    expect(job.delivery).toMatchObject({ status: 'delivered', attempts: 3 });
    const sent = await deliveriesTo(hook.name);
    expect(sent.map((d) => d.answered)).toEqual([503, 503, 200]);
    expect(new Set(sent.map((d) => d.headers['webhook-id']))).toEqual(new Set([`msg_${accepted.id}`]));
    for (const d of sent) {
      const event = new Webhook(secret).verify(d.body, d.headers) as { type: string; data: Record<string, unknown> };
      expect(event.type).toBe('explanation.succeeded');
      expect(event.data).toMatchObject({ jobId: accepted.id, status: 'succeeded', decision: 'reject', resultId: job.result!.resultId });
      expect(d.body.length).toBeLessThan(1000); // links, not maps
    }
    expect(() => new Webhook(`whsec_${btoa('another secret, 32 bytes long....')}`).verify(sent[0]!.body, sent[0]!.headers)).toThrow();

    // Charged as an explanation of a new pair, once.
    await accountOf(env, key.tenant).flush();
    const entries = await ledger(env.DB, 0, Date.now() + 1000, key.tenant);
    expect(entries.map((e) => [e.operation, e.units])).toEqual([['job', 3]]);

    // Redelivery: the same webhook-id again, nothing recomputed or charged.
    const again = await callAs(key, `/v1/jobs/${accepted.id}/redeliver`, { method: 'POST' });
    expect(again.status).toBe(202);
    const redelivered = await settled(accepted.id);
    expect(redelivered.delivery).toMatchObject({ status: 'delivered', attempts: 4 });
    expect(redelivered.attempts).toBe(1);
    const all = await deliveriesTo(hook.name);
    expect(all).toHaveLength(4);
    expect(all[3]!.headers['webhook-id']).toBe(`msg_${accepted.id}`);
    expect(await accountOf(env, key.tenant).balance(key.tenant)).toMatchObject({ spent: 3, held: 0 });
  });

  it('a failed job is refunded and delivers explanation.failed; 410 disables the endpoint', async () => {
    const hook = receiver('gone');
    const before = (await accountOf(env, key.tenant).balance(key.tenant)).spent;
    const res = await submit({ a: amy1, b: raj2.subarray(0, 300), callbackUrl: hook.url });
    expect(res.status).toBe(202);
    const job = await settled(((await res.json()) as { id: string }).id);
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ type: '/problems/undecodable-image', status: 422 });
    expect(job.delivery).toMatchObject({ status: 'disabled', attempts: 1 });
    const [sent] = await deliveriesTo(hook.name);
    expect((new Webhook(secret).verify(sent!.body, sent!.headers) as { type: string }).type).toBe('explanation.failed');
    expect(await accountOf(env, key.tenant).balance(key.tenant)).toMatchObject({ spent: before, held: 0 });

    // The endpoint stays disabled for later jobs (nothing is sent) until a redelivery to it.
    const later = await submit({ a: amy1, b: raj2, callbackUrl: hook.url });
    const laterJob = await settled(((await later.json()) as { id: string }).id);
    expect(laterJob.status).toBe('succeeded');
    expect(laterJob.delivery).toMatchObject({ status: 'disabled', attempts: 1 });
    expect(laterJob.delivery.lastError).toContain('410');
    expect(await deliveriesTo(hook.name)).toHaveLength(1);
    expect((await callAs(key, `/v1/jobs/${laterJob.id}/redeliver`, { method: 'POST' })).status).toBe(202);
    expect((await settled(laterJob.id)).delivery.status).toBe('disabled');
    expect(await deliveriesTo(hook.name)).toHaveLength(2);
  });

  it('marks the delivery failed after the last scheduled attempt', async () => {
    const hook = receiver('down');
    const res = await submit({ a: amy1, b: raj2, callbackUrl: hook.url });
    const job = await settled(((await res.json()) as { id: string }).id);
    expect(job.status).toBe('succeeded');
    expect(job.delivery).toMatchObject({ status: 'failed', attempts: 8, lastError: 'answered 500' });
    const sent = await deliveriesTo(hook.name);
    expect(sent).toHaveLength(8); // the first attempt and 7 retries
    expect(new Set(sent.map((d) => d.headers['webhook-id'])).size).toBe(1);
  });

  it('refuses callback URLs the service must not call, before queuing anything', async () => {
    // (Loopback is allowed here: KEY_ENV is local. The whole rule: test/node/guarded-url.test.ts.)
    const refused = [
      'http://hooks.example/x',
      'https://10.0.0.7/x',
      'https://169.254.169.254/latest',
      'https://[fd00::1]/x',
      'https://user:pw@hooks.example/x',
      'ftp://hooks.example',
    ];
    for (const url of refused) {
      const res = await submit({ a: amy1, b: raj2, callbackUrl: url });
      expect(res.status, url).toBe(400);
      expect(((await res.json()) as { type: string; detail: string }).type).toBe('/problems/invalid-request');
    }
  });

  it('the same Idempotency-Key and body return the same job; other tenants cannot see it', async () => {
    const headers = { 'idempotency-key': `job-${runs++}` };
    const first = await submit({ a: amy1, b: raj2 }, headers);
    const second = await submit({ a: amy1, b: raj2 }, headers);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const { id } = (await first.json()) as { id: string };
    expect(((await second.json()) as { id: string }).id).toBe(id);
    expect((await settled(id)).status).toBe('succeeded');

    const other = await createKey(`jobs-other-${Date.now().toString(36)}`, { scopes: ['jobs'], units: 10 });
    expect((await callAs(other, `/v1/jobs/${id}`)).status).toBe(404);
    expect((await callAs(other, `/v1/jobs/${id}/redeliver`, { method: 'POST' })).status).toBe(404);
    const noScope = await createKey(key.tenant, { scopes: ['explain'] });
    expect((await callAs(noScope, `/v1/jobs/${id}`)).status).toBe(403);
  });

  it('rotating the signing secret signs with the old and the new one for a day', async () => {
    const rotated = (await (await callAs(key, '/v1/webhook-secret/rotate', { method: 'POST' })).json()) as {
      secrets: { secret: string; expiresAt: string | null }[];
    };
    expect(rotated.secrets).toHaveLength(2);
    const [fresh, old] = rotated.secrets;
    expect(old!.secret).toBe(secret);
    expect(fresh!.expiresAt).toBeNull();
    expect(Date.parse(old!.expiresAt!) - Date.now()).toBeGreaterThan(23 * 3600_000);
    const hook = receiver('ok');
    const res = await submit({ a: amy1, b: raj2, callbackUrl: hook.url });
    await settled(((await res.json()) as { id: string }).id);
    const [sent] = await deliveriesTo(hook.name);
    expect(sent!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    for (const s of [fresh!.secret, old!.secret]) expect(() => new Webhook(s).verify(sent!.body, sent!.headers)).not.toThrow();
  });

  describe('images by reference', () => {
    it('fetches https image URLs (following redirects) and earlier uploads', async () => {
      const upload = await callAs(key, '/v1/uploads', { method: 'POST', body: cropForm({ image: raj2 }) });
      expect(upload.status).toBe(201);
      const { upload: id } = (await upload.json()) as { upload: string };
      expect(id).toMatch(/^upl_[0-9a-f]{64}$/);
      const res = await callAs(key, '/v1/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          a: { url: 'https://images.example/redirect/3/faces/bbt/amy/amy1.png' },
          b: { upload: id },
          input: 'aligned-crop',
          centre: false,
          smooth: false,
          maps: ['a.similarity'],
        }),
      });
      expect(res.status, await res.clone().text()).toBe(202);
      const job = await settled(((await res.json()) as { id: string }).id);
      expect(job.status).toBe('succeeded');
      expect(job.result!.decision).toBe('reject');
    });

    it('a URL that fails, redirects to a private host or is too large fails the job with image-unavailable, never fetching the private host', async () => {
      for (const path of ['redirect/4/faces/bbt/amy/amy1.png', 'to-private', 'huge', 'missing']) {
        const res = await submit({ aUrl: `https://images.example/${path}`, b: raj2 });
        expect(res.status, path).toBe(202);
        const job = await settled(((await res.json()) as { id: string }).id);
        expect(job.status, path).toBe('failed');
        expect(job.error, path).toMatchObject({ type: '/problems/image-unavailable', status: 422 });
      }
      const fetched = (await (await fixtureResponse('outbound')).json()) as string[];
      expect(fetched.filter((u) => new URL(u).hostname === '10.0.0.5')).toEqual([]);
      // Refused before anything is queued or fetched: a private host, two images for one field, an unknown upload.
      const refusedFields: Record<string, Uint8Array | string>[] = [
        { aUrl: 'https://192.168.0.1/a.png', b: raj2 },
        { a: amy1, aUrl: 'https://images.example/faces/bbt/amy/amy1.png', b: raj2 },
        { aUpload: `upl_${'0'.repeat(64)}`, b: raj2 },
      ];
      for (const fields of refusedFields) {
        expect((await submit(fields)).status).toBe(400);
      }
    });
  });

  describe('inbound webhooks', () => {
    let source: string;
    let hookSecret: string;
    const event = (data: Record<string, unknown>) =>
      JSON.stringify({
        type: 'explanation.requested',
        data: { input: 'aligned-crop', centre: false, smooth: false, maps: ['a.similarity'], ...data },
      });
    const post = (body: string, id: string, when = new Date(), secret = hookSecret, to = source) =>
      callAs(null, `/v1/hooks/${to}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(when.getTime() / 1000)),
          'webhook-signature': new Webhook(secret).sign(id, when, body),
        },
        body,
      });
    beforeAll(async () => {
      source = `src-${Date.now().toString(36)}`;
      hookSecret = `whsec_${btoa('0123456789abcdef0123456789abcdef')}`;
      await bind(
        env.DB,
        hookSql.create({ id: source, tenantId: key.tenant, keyId: key.id, secret: hookSecret, callbackUrl: null, now: Date.now() }),
      ).run();
    });

    it('turns a signed event into a job; a replay answers 200 with the same job and starts none', async () => {
      const body = event({
        a: { url: 'https://images.example/faces/bbt/amy/amy1.png' },
        b: { url: 'https://images.example/faces/bbt/raj/raj2.png' },
      });
      const first = await post(body, 'msg_inbound_1');
      expect(first.status, await first.clone().text()).toBe(202);
      const { id } = (await first.json()) as { id: string };
      const replay = await post(body, 'msg_inbound_1');
      expect(replay.status).toBe(200);
      expect(((await replay.json()) as { id: string }).id).toBe(id);
      const job = await settled(id);
      expect(job.status).toBe('succeeded');
      await accountOf(env, key.tenant).flush();
      const charged = (await ledger(env.DB, 0, Date.now() + 1000, key.tenant)).filter((e) => e.requestId === id);
      expect(charged).toHaveLength(1);
    });

    it('refuses a bad signature (401), a stale or future timestamp (400), an unknown source (404), a bad event (400)', async () => {
      const body = event({
        a: { url: 'https://images.example/faces/bbt/amy/amy1.png' },
        b: { url: 'https://images.example/faces/bbt/raj/raj2.png' },
      });
      const other = `whsec_${btoa('another secret of thirty-two byte')}`;
      expect((await post(body, 'msg_bad', new Date(), other)).status).toBe(401);
      const tampered = await callAs(null, `/v1/hooks/${source}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': 'x',
          'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
          'webhook-signature': 'v1,AAAA',
        },
        body,
      });
      expect(tampered.status).toBe(401);
      const stale = await post(body, 'msg_stale', new Date(Date.now() - 10 * 60_000));
      expect(stale.status).toBe(400);
      expect(((await stale.json()) as { type: string }).type).toBe('/problems/stale-webhook');
      expect((await post(body, 'msg_future', new Date(Date.now() + 10 * 60_000))).status).toBe(400);
      expect((await post(body, 'msg_unknown', new Date(), hookSecret, 'no-such-source')).status).toBe(404);
      expect(
        (
          await post(
            JSON.stringify({ type: 'explanation.requested', data: { a: { url: 'https://10.0.0.1/a.png' }, b: { upload: 'nope' } } }),
            'msg_badevent',
          )
        ).status,
      ).toBe(400);
    });
  });

  // Last: its failure mock applies to every job made after it.
  it('a job whose step fails after the explanation resumes from its checkpoint: one result, billed once, delivered once', async () => {
    await workflows.modifyAll(async (m) => {
      await m.disableSleeps();
      await m.mockStepError({ name: 'settle' }, new Error('the isolate went away'), 1);
    });
    const hook = receiver('ok');
    const tenantKey = await createKey(`jobs-resume-${Date.now().toString(36)}`, { scopes: ['jobs'], units: 10 });
    const res = await submit({ a: amy1, b: raj2, callbackUrl: hook.url }, {}, tenantKey);
    expect(res.status).toBe(202);
    const job = await settled(((await res.json()) as { id: string }).id, tenantKey);
    expect(job.status).toBe('succeeded');
    expect(job.attempts).toBe(1); // the explanation step ran once; its result was kept
    await accountOf(env, tenantKey.tenant).flush();
    const entries = await ledger(env.DB, 0, Date.now() + 1000, tenantKey.tenant);
    expect(entries.map((e) => [e.operation, e.units])).toEqual([['job', 3]]);
    expect(await deliveriesTo(hook.name)).toHaveLength(1);
  });
});
