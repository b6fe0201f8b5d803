/**
 * Deletion and retention inside workerd with miniflare R2: DELETE /v1/results/{id} takes a
 * result and its rendered maps away (and only the caller's own), DELETE /v1/images/{id} an
 * image's cached bases and embedding, and the scheduled purge,
 * run with a controlled clock (the scheduled time), deletes each kind of tenant data once
 * it has outlived its retention: results, jobs, uploads and idempotency records after 30 days,
 * bases and embeddings after 90; models and other prefixes are never touched. Also the
 * limits on the request line and headers (414, 431).
 */
import { createScheduledController } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import worker from '../../src/index.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { renderedKey, resultKey, encodeResult } from '../../src/store/results.js';
import { call, callAs, createKey, expectProblem, testKey } from './fixtures.js';

const DAY = 24 * 3600_000;
const RESULT_ID = 'ab'.repeat(16);

/** A small but well-formed stored result (4×4 maps) and one rendered PNG beside it. */
async function putResult(tenant: string, resultId = RESULT_ID): Promise<void> {
  const size = 4;
  const map = () => Float32Array.from({ length: size * size }, (_, i) => i / 16);
  const face = () => new Uint8Array(size * size * 3).fill(128);
  const body = encodeResult({
    size,
    maps: { 'a.similarity': map(), 'a.dissimilarity': map(), 'b.similarity': map(), 'b.dissimilarity': map() },
    faces: { a: face(), b: face() },
    record: { method: 'fggb', centre: true, threshold: 0.25, size, stats: {} },
  });
  await env.DATA.put(resultKey(tenant, resultId), new Blob(body.parts as BlobPart[]), { customMetadata: body.customMetadata });
  await env.DATA.put(renderedKey(tenant, resultId, 'a/similarity.png'), new Uint8Array([137, 80, 78, 71]));
}

async function keys(prefix: string): Promise<string[]> {
  return (await env.DATA.list({ prefix })).objects.map((o) => o.key).sort();
}

/** The Worker's scheduled handler, as the cron trigger runs it, at a controlled time. */
async function purgeAt(time: number): Promise<void> {
  const controller = createScheduledController({ scheduledTime: new Date(time), cron: '17 3 * * *' });
  await worker.scheduled(controller, env);
}

describe('DELETE /v1/results/{id}', () => {
  it('deletes a result and its rendered maps; its links answer 404; a second delete is a 404', async () => {
    const { tenant } = await testKey();
    await putResult(tenant);
    expect((await call(`/v1/maps/${RESULT_ID}/a/similarity.f32`)).status).toBe(200);
    const res = await call(`/v1/results/${RESULT_ID}`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(await keys(`t/${tenant}/results/${RESULT_ID}/`)).toEqual([]);
    await expectProblem(await call(`/v1/maps/${RESULT_ID}/a/similarity.f32`), 404, 'not-found');
    await expectProblem(await call(`/v1/results/${RESULT_ID}`, { method: 'DELETE' }), 404, 'not-found');
    await expectProblem(await call('/v1/results/not-an-id', { method: 'DELETE' }), 404, 'not-found');
  });

  it("cannot delete another tenant's result, and needs the explain scope", async () => {
    const { tenant } = await testKey();
    await putResult(tenant);
    const other = await createKey('retention-other', { scopes: ['verify', 'explain'] });
    await expectProblem(await callAs(other, `/v1/results/${RESULT_ID}`, { method: 'DELETE' }), 404, 'not-found');
    const verifyOnly = await createKey('retention-other', { scopes: ['verify'] });
    await expectProblem(await callAs(verifyOnly, `/v1/results/${RESULT_ID}`, { method: 'DELETE' }), 403, 'forbidden');
    await expectProblem(await callAs(null, `/v1/results/${RESULT_ID}`, { method: 'DELETE' }), 401, 'unauthorized');
    expect(await keys(`t/${tenant}/results/${RESULT_ID}/`)).toHaveLength(2);
  });
});

describe('DELETE /v1/images/{id}', () => {
  const mine = 'e'.repeat(64);
  const other = 'f'.repeat(64);
  const cached = (tenant: string, id: string) => [
    `t/${tenant}/bases/face-resnet-1/centred-smooth4x0.1s29/${id}.f16`,
    `t/${tenant}/bases/face-resnet-1/plain/${id}.f16`,
    `t/${tenant}/bases/face-resnet-0/plain/${id}.f32`,
    `t/${tenant}/embeddings/face-resnet-1/${id}.f32`,
  ];

  it("forgets every cached basis and embedding of the image, of every model version and kind; nobody else's", async () => {
    const { tenant } = await testKey();
    const neighbour = await createKey('retention-neighbour', { scopes: ['explain'] });
    const all = [...cached(tenant, mine), ...cached(tenant, other), ...cached(neighbour.tenant, mine)];
    for (const key of all) await env.DATA.put(key, new Uint8Array([1, 2, 3]));
    expect((await call(`/v1/images/${mine}`, { method: 'DELETE' })).status).toBe(204);
    const left = [...(await keys(`t/${tenant}/bases/`)), ...(await keys(`t/${tenant}/embeddings/`))];
    expect(left.filter((k) => k.includes(mine))).toEqual([]);
    expect(left.filter((k) => k.includes(other))).toHaveLength(4);
    expect(await keys(`t/${neighbour.tenant}/`)).toHaveLength(4);
    await expectProblem(await call(`/v1/images/${mine}`, { method: 'DELETE' }), 404, 'not-found');
    await expectProblem(await call('/v1/images/../results', { method: 'DELETE' }), 404, 'not-found');
    await expectProblem(await callAs(neighbour, `/v1/images/${'0'.repeat(63)}`, { method: 'DELETE' }), 404, 'not-found');
    const verifyOnly = await createKey('retention-neighbour', { scopes: ['verify'] });
    await expectProblem(await callAs(verifyOnly, `/v1/images/${other}`, { method: 'DELETE' }), 403, 'forbidden');
  });
});

describe('the scheduled retention purge', () => {
  const tenant = 'retention';
  const data = {
    result: `t/${tenant}/results/${RESULT_ID}/result.bin`,
    rendered: `t/${tenant}/results/${RESULT_ID}/a/similarity.png`,
    upload: `t/${tenant}/uploads/${'c'.repeat(64)}`,
    job: `t/${tenant}/jobs/job_${'9'.repeat(32)}/result.json`,
    idempotency: `t/${tenant}/idempotency/${'d'.repeat(64)}`,
    basis: `t/${tenant}/bases/face-resnet-1/centred-smooth4x0.1s29/${'e'.repeat(64)}.f16`,
    embedding: `t/${tenant}/embeddings/face-resnet-1/${'f'.repeat(64)}.f32`,
  };
  beforeEach(async () => {
    for (const key of Object.values(data)) await env.DATA.put(key, new Uint8Array([1, 2, 3]));
    await env.DATA.put('models/retention-canary.txt', 'a model file');
  });

  it('keeps everything younger than its retention', async () => {
    await purgeAt(Date.now() + 29 * DAY);
    expect(await keys(`t/${tenant}/`)).toEqual(Object.values(data).sort());
  });

  it('after 30 days deletes results (with their renderings), jobs, uploads and idempotency records; keeps bases and embeddings', async () => {
    await purgeAt(Date.now() + 31 * DAY);
    expect(await keys(`t/${tenant}/`)).toEqual([data.basis, data.embedding].sort());
    expect(await env.DATA.head('models/retention-canary.txt')).not.toBeNull();
  });

  it('after 90 days deletes bases and embeddings too; models are never touched', async () => {
    await purgeAt(Date.now() + 91 * DAY);
    expect(await keys(`t/${tenant}/`)).toEqual([]);
    expect(await env.DATA.head('models/retention-canary.txt')).not.toBeNull();
  });
});

describe('request line and header limits', () => {
  it('answers an over-long URL with 414 and over-large headers with 431 problems, with security headers', async () => {
    const long = await call(`/healthz?${'x'.repeat(9000)}`);
    await expectProblem(long, 414, 'uri-too-long');
    expect(long.headers.get('x-content-type-options')).toBe('nosniff');
    await expectProblem(await call('/healthz', { headers: { 'x-big': 'y'.repeat(9000) } }), 431, 'headers-too-large');
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`x-h${i}`, 'z'.repeat(500)]));
    await expectProblem(await call('/healthz', { headers: many }), 431, 'headers-too-large');
    expect((await call('/healthz', { headers: { 'x-fine': 'a'.repeat(1000) } })).status).toBe(200);
  });
});
