/**
 * The pure parts of jobs: which URLs the service may call, and the delivery schedule with
 * its jitter and Retry-After. (Jobs end to end: test/workers/jobs.test.ts.)
 */
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { checkOutboundUrl } from '../../src/jobs/guarded-url.js';
import { deliver, newWebhookSecret, RETRY_SCHEDULE_MS, retryAfterMs, retryDelayMs, signature } from '../../src/jobs/webhooks.js';

describe('outbound URLs', () => {
  const refused = [
    'http://example.com/hook', // plain http
    'https://localhost/hook',
    'https://api.localhost/hook',
    'https://127.0.0.1/hook',
    'https://2130706433/hook', // 127.0.0.1 as one number
    'https://0x7f.1/hook',
    'https://10.1.2.3/hook',
    'https://172.16.0.1/hook',
    'https://172.31.255.255/hook',
    'https://192.168.1.1/hook',
    'https://169.254.169.254/latest/meta-data',
    'https://100.64.0.1/hook',
    'https://0.0.0.0/hook',
    'https://224.0.0.1/hook',
    'https://[::1]/hook',
    'https://[::]/hook',
    'https://[fc00::1]/hook',
    'https://[fe80::1]/hook',
    'https://[::ffff:10.0.0.1]/hook',
    'https://[::ffff:127.0.0.1]/hook',
    'https://user:secret@example.com/hook',
    'file:///etc/passwd',
    'not a url',
  ];
  it.each(refused)('refuses %s', (url) => {
    expect(checkOutboundUrl(url).ok).toBe(false);
  });
  it.each(['https://example.com/hook', 'https://8.8.8.8/x', 'https://172.32.0.1/x', 'https://[2606:4700::1111]/x'])('allows %s', (url) => {
    expect(checkOutboundUrl(url).ok).toBe(true);
  });
  it('allows plain http to loopback only in local development', () => {
    expect(checkOutboundUrl('http://127.0.0.1:9000/hook', { allowLoopbackHttp: true }).ok).toBe(true);
    expect(checkOutboundUrl('http://localhost:9000/hook', { allowLoopbackHttp: true }).ok).toBe(true);
    expect(checkOutboundUrl('http://10.0.0.1/hook', { allowLoopbackHttp: true }).ok).toBe(false);
    expect(checkOutboundUrl('http://127.0.0.1:9000/hook').ok).toBe(false);
  });
});

describe('deliveries', () => {
  it('wait 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h between attempts, ±10 %, or longer when asked', () => {
    expect(RETRY_SCHEDULE_MS.map((ms) => ms / 1000)).toEqual([5, 300, 1800, 7200, 18000, 36000, 36000]);
    expect(retryDelayMs(0, undefined, () => 0)).toBe(4500);
    expect(retryDelayMs(0, undefined, () => 1)).toBe(5500);
    expect(retryDelayMs(1, undefined, () => 0.5)).toBe(300_000);
    expect(retryDelayMs(0, 60_000, () => 0.5)).toBe(60_000); // Retry-After: 60
    expect(retryDelayMs(99, undefined, () => 0.5)).toBe(36_000_000);
  });

  it('read Retry-After as seconds or an HTTP date, capped at 10 h', () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Mon, 30 Nov 2026 12:01:00 GMT', now)).toBe(60_000);
    expect(retryAfterMs('999999', now)).toBe(36_000_000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });

  it('sign with every active secret, verifiable by the standardwebhooks package', async () => {
    const [a, b] = [newWebhookSecret(), newWebhookSecret()];
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    let seen: { headers: Headers; body: string } | undefined;
    const fetcher = (async (_url: string, init: RequestInit) => {
      seen = { headers: new Headers(init.headers), body: String(init.body) };
      return new Response(null, { status: 204 });
    }) as typeof fetch;
    const outcome = await deliver('https://example.com/h', { id: 'msg_1', body: '{"type":"x"}' }, [a, b], fetcher);
    expect(outcome).toEqual({ outcome: 'delivered', status: 204 });
    const headers = Object.fromEntries(seen!.headers);
    expect(headers['webhook-id']).toBe('msg_1');
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    for (const s of [a, b]) expect(new Webhook(s).verify(seen!.body, headers)).toEqual({ type: 'x' });
    expect(signature([a], 'msg_1', new Date(0), 'x')).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  });

  it('retries network errors, non-2xx and redirects; 410 stops', async () => {
    const answer = (status: number, headers: Record<string, string> = {}) =>
      (async () => new Response(null, { status, headers })) as unknown as typeof fetch;
    const msg = { id: 'm', body: '{}' };
    const s = [newWebhookSecret()];
    expect(await deliver('https://e.com', msg, s, answer(410))).toEqual({ outcome: 'gone', status: 410 });
    expect(await deliver('https://e.com', msg, s, answer(302, { location: 'https://10.0.0.1/' }))).toMatchObject({
      outcome: 'retry',
      status: 302,
    });
    expect(await deliver('https://e.com', msg, s, answer(429, { 'retry-after': '30' }))).toMatchObject({
      outcome: 'retry',
      retryAfterMs: 30_000,
    });
    const failing = (async () => {
      throw new TypeError('connection refused');
    }) as unknown as typeof fetch;
    expect(await deliver('https://e.com', msg, s, failing)).toMatchObject({ outcome: 'retry', status: null });
  });
});
