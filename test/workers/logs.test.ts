/**
 * What the Worker writes to its logs, audited inside workerd: one `request` line per
 * answer carrying the request id the client saw, errors tied to their request id, and
 * never an API key, a map link's signature or any image bytes.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import worker from '../../src/index.js';
import { faultyBucket } from './faulty-r2.js';
import { call, callAs, cropForm, fixture, form, seedModels, testKey } from './fixtures.js';

const lines: string[] = [];
const capture = (...args: unknown[]) => lines.push(args.map(String).join(' '));

beforeAll(async () => {
  await seedModels();
  vi.spyOn(console, 'log').mockImplementation(capture);
  vi.spyOn(console, 'error').mockImplementation(capture);
});
afterAll(() => vi.restoreAllMocks());

const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

describe('logs', () => {
  it('carry request ids and outcomes, never keys, signatures or image bytes', async () => {
    const amy = await fixture('faces/bbt/amy/amy1.png');
    const raj = await fixture('faces/bbt/raj/raj2.png');
    const { key } = await testKey();
    const seen: string[] = [];
    const track = async (res: Response | Promise<Response>) => {
      const r = await res;
      seen.push(r.headers.get('x-request-id')!);
      await r.arrayBuffer();
      return r;
    };
    lines.length = 0;
    await track(call('/v1/verify', { method: 'POST', body: cropForm({ a: amy, b: raj }) }));
    await track(call('/v1/verify', { method: 'POST', body: form({ a: amy.slice(0, 300), b: raj }) }));
    await track(callAs(`${key.slice(0, -4)}abcd`, '/v1/verify', { method: 'POST', body: cropForm({ a: amy, b: raj }) }));
    const explained = await call('/v1/explain', {
      method: 'POST',
      body: cropForm({ a: amy, b: raj, maps: 'a.similarity', smooth: 'false' }),
    });
    seen.push(explained.headers.get('x-request-id')!);
    const link = ((await explained.json()) as { maps: { a: { similarity: { png: string } } } }).maps.a.similarity.png;
    expect(link).toContain('signature=');
    await track(callAs(null, new URL(link).pathname + new URL(link).search));
    // A storage failure is logged with its request id.
    const ctx = createExecutionContext();
    const failing = faultyBucket(env.DATA, { fail: { get: 1, head: 1 } });
    const request = new Request('http://xfv.test/v1/explain', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: cropForm({ a: amy, b: raj, smooth: 'false' }),
    });
    await track(worker.fetch(request, { ...env, DATA: failing }, ctx));
    await waitOnExecutionContext(ctx);

    const records = lines.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
    const requests = records.filter((r) => r.event === 'request');
    expect(requests.map((r) => r.requestId)).toEqual(seen);
    expect(requests.map((r) => r.status)).toEqual([200, 422, 401, 200, 200, 503]);
    expect(records.find((r) => r.event === 'storage-unavailable')?.requestId).toBe(seen[5]);

    const text = lines.join('\n');
    const secret = key.split('_').at(-1)!;
    expect(text).not.toContain(secret);
    expect(text).not.toContain('signature=');
    expect(text.toLowerCase()).not.toContain('authorization');
    for (const image of [amy, raj]) {
      expect(text).not.toContain(base64(image.subarray(64, 112)));
      expect(text).not.toContain(new TextDecoder('latin1').decode(image.subarray(64, 112)));
    }
  });
});
