/**
 * Model unavailable: an empty or corrupt models bucket gives a 503 problem naming what
 * is wrong (and no crash loop). Its own file, so the isolate has no cached engine.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, fixture, cropForm } from './fixtures.js';

describe('model unavailable', () => {
  it('503 with the missing object named, then 503 again for a corrupt file', async () => {
    const a = await fixture('faces/bbt/amy/amy1.png');
    let res = await call('/v1/verify', { method: 'POST', body: cropForm({ a, b: a }) });
    let body = (await res.json()) as { type: string; detail: string };
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    expect(body.type).toBe('/problems/model-unavailable');
    expect(body.detail).toContain('models/manifest.json');

    const manifestBytes = await fixture('models/manifest.json');
    const manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as { files: { int8: { path: string; bytes: number } } };
    await env.MODELS.put('models/manifest.json', manifestBytes);
    await env.MODELS.put(`models/${manifest.files.int8.path}`, new Uint8Array(manifest.files.int8.bytes).fill(7));
    res = await call('/v1/models');
    body = (await res.json()) as { type: string; detail: string };
    expect(res.status).toBe(503);
    expect(body.detail).toMatch(new RegExp(`models/${manifest.files.int8.path} is corrupt: sha256`));
    expect((await call('/healthz')).status).toBe(200);
  });
});
