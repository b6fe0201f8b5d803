/**
 * Storage faults inside workerd: the Worker runs over a fault-injecting wrapper of the
 * miniflare R2 bucket (test/workers/faulty-r2) that fails, delays or cuts half way a chosen
 * share of its calls. Answers are 200 or a clean 503 `storage-unavailable` with
 * Retry-After, never a 500; no partial basis or result object is ever visible (objects
 * appear whole or not at all, and a reader distrusts one whose length is wrong); a later
 * request on healthy storage heals the cache and gives the same result.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../../src/index.js';
import { basisByteLength, decodeHeader } from '../../src/store/basis.js';
import { layoutOf, resultKey } from '../../src/store/results.js';
import { type Faults, faultyBucket } from './faulty-r2.js';
import { createKey, cropForm, expectProblem, fixture, seedModels, type TestKey } from './fixtures.js';

let key: TestKey;
let amy1: Uint8Array;
let raj2: Uint8Array;
let penny1: Uint8Array;

/** POST /v1/explain of two crops (the paper's FGGB: plain bases, fastest to compute) over `data`. */
async function explainOver(data: R2Bucket, a: Uint8Array, b: Uint8Array): Promise<Response> {
  const request = new Request('http://xfv.test/v1/explain', {
    method: 'POST',
    headers: { authorization: `Bearer ${key.key}` },
    body: cropForm({ a, b, centre: 'false', smooth: 'false', maps: 'a.similarity' }),
  });
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, { ...env, DATA: data }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

async function getOver(data: R2Bucket, url: string): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(url, { headers: { authorization: `Bearer ${key.key}` } }), { ...env, DATA: data }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

async function objects(prefix: string): Promise<R2Object[]> {
  const out: R2Object[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.DATA.list({ prefix, cursor, include: ['customMetadata'] } as R2ListOptions);
    out.push(...page.objects);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out;
}

/** Every stored basis and result of the tenant is whole: its length is what its own header says. */
async function expectOnlyWholeObjects(): Promise<{ bases: number; results: number }> {
  const prefix = `t/${key.tenant}/`;
  const bases = await objects(`${prefix}bases/`);
  for (const o of bases) {
    const head = await env.DATA.get(o.key, { range: { offset: 0, length: 64 } });
    const header = decodeHeader(new Uint8Array(await head!.arrayBuffer()));
    expect(o.size, o.key).toBe(basisByteLength(header));
  }
  const results = (await objects(`${prefix}results/`)).filter((o) => o.key.endsWith('/result.bin'));
  for (const o of results) expect(o.size, o.key).toBe(layoutOf(o.customMetadata)?.byteLength);
  return { bases: bases.length, results: results.length };
}

async function expectStorageProblem(res: Response): Promise<void> {
  await expectProblem(res, 503, 'storage-unavailable');
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
}

interface ExplainBody {
  resultId: string;
  explanation: { basis: { a: string; b: string }; cosine: number };
  maps: { a: { similarity: { f32: string; png: string } } };
}

describe('storage faults', () => {
  beforeAll(async () => {
    await seedModels();
    key = await createKey('faults', { scopes: ['verify', 'explain'], units: 1_000_000_000, rate: { quota: 1_000_000, window: 1 } });
    [amy1, raj2, penny1] = (await Promise.all(['amy/amy1', 'raj/raj2', 'penny/penny1'].map((f) => fixture(`faces/bbt/${f}.png`)))) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
  });

  it('every put failing (uploads dropped half way): 503, no object of the basis or result appears; healthy storage then heals', async () => {
    const broken = faultyBucket(env.DATA, { fail: { put: 1 } });
    await expectStorageProblem(await explainOver(broken, amy1, raj2));
    expect(broken.injected.put).toBeGreaterThanOrEqual(3); // two bases (streamed, cut half way), then the result
    expect(await expectOnlyWholeObjects()).toEqual({ bases: 0, results: 0 });

    const healed = await explainOver(env.DATA, amy1, raj2);
    expect(healed.status, await healed.clone().text()).toBe(200);
    const body = (await healed.json()) as ExplainBody;
    expect(body.explanation.basis).toEqual({ a: 'miss', b: 'miss' });
    expect(await expectOnlyWholeObjects()).toEqual({ bases: 2, results: 1 });
    const again = (await (await explainOver(env.DATA, amy1, raj2)).json()) as ExplainBody;
    expect(again.explanation.basis).toEqual({ a: 'hit', b: 'hit' });
    expect(again.resultId).toBe(body.resultId);
  });

  it('gets failing or cut half way: 503 with Retry-After (explain and maps), then the same answer once storage is back', async () => {
    const good = (await (await explainOver(env.DATA, amy1, raj2)).json()) as ExplainBody;
    const goodMap = new Uint8Array(await (await getOver(env.DATA, good.maps.a.similarity.f32)).arrayBuffer());

    const failing = faultyBucket(env.DATA, { fail: { get: 1 } });
    await expectStorageProblem(await explainOver(failing, amy1, raj2));
    await expectStorageProblem(await getOver(failing, good.maps.a.similarity.png));

    // Cached bases whose streams stop half way: the combination is refused, not served partial.
    const channelsRead = (options?: R2GetOptions) => ((options?.range as { offset?: number } | undefined)?.offset ?? 0) > 64;
    const cut = faultyBucket(env.DATA, { cutStreams: 1, only: /\/bases\//, cutIf: channelsRead });
    await expectStorageProblem(await explainOver(cut, amy1, raj2));
    expect(cut.injected.cut).toBeGreaterThanOrEqual(1);
    // Stored embeddings cut half way are refused the same way.
    const cutEmbeddings = faultyBucket(env.DATA, { cutStreams: 1, only: /\/embeddings\// });
    await expectStorageProblem(await explainOver(cutEmbeddings, amy1, raj2));
    expect(cutEmbeddings.injected.cut).toBeGreaterThanOrEqual(1);

    const back = (await (await explainOver(env.DATA, amy1, raj2)).json()) as ExplainBody;
    expect(back.resultId).toBe(good.resultId);
    expect(back.explanation.basis).toEqual({ a: 'hit', b: 'hit' });
    expect(new Uint8Array(await (await getOver(env.DATA, back.maps.a.similarity.f32)).arrayBuffer())).toEqual(goodMap);
  });

  it('objects of the wrong length are not trusted: a cut basis is recomputed, a cut result is 404 until explained again', async () => {
    const good = (await (await explainOver(env.DATA, amy1, raj2)).json()) as ExplainBody;
    const bases = await objects(`t/${key.tenant}/bases/`);
    const basis = bases[0]!;
    const bytes = new Uint8Array(await (await env.DATA.get(basis.key))!.arrayBuffer());
    await env.DATA.put(basis.key, bytes.slice(0, bytes.length - 4096));
    const result = resultKey(key.tenant, good.resultId);
    const stored = (await env.DATA.get(result))!;
    const resultBytes = new Uint8Array(await stored.arrayBuffer());
    await env.DATA.put(result, resultBytes.slice(0, resultBytes.length - 1), { customMetadata: stored.customMetadata });

    await expectProblem(await getOver(env.DATA, good.maps.a.similarity.f32), 404, 'not-found');
    const again = (await (await explainOver(env.DATA, amy1, raj2)).json()) as ExplainBody;
    expect(Object.values(again.explanation.basis).sort()).toEqual(['hit', 'miss']);
    expect(again.resultId).toBe(good.resultId);
    expect((await getOver(env.DATA, again.maps.a.similarity.f32)).status).toBe(200);
    await expectOnlyWholeObjects();
  });

  it('random faults and delays on every kind of call: only 200 or 503 storage-unavailable, never a partial object', async () => {
    const faults: Faults = {
      fail: { get: 0.2, head: 0.2, put: 0.25, list: 0.2 },
      cutStreams: 0.2,
      delay: 0.3,
      delayMs: 30,
      seed: 20261130,
    };
    const bucket = faultyBucket(env.DATA, faults);
    const statuses: number[] = [];
    // New pairs (penny's bases are not cached yet) and cached ones, in turn.
    for (const [a, b] of [
      [penny1, amy1],
      [amy1, raj2],
      [raj2, penny1],
      [penny1, amy1],
      [amy1, raj2],
      [raj2, penny1],
    ] as const) {
      const res = await explainOver(bucket, a, b);
      statuses.push(res.status);
      if (res.status === 503) await expectStorageProblem(res);
      else {
        expect(res.status, await res.clone().text()).toBe(200);
        const body = (await res.json()) as ExplainBody;
        const map = await getOver(bucket, body.maps.a.similarity.f32);
        expect([200, 503]).toContain(map.status);
        await map.arrayBuffer().catch(() => undefined);
      }
    }
    expect(statuses).toContain(503);
    expect(Object.keys(bucket.injected).length).toBeGreaterThanOrEqual(3);
    await expectOnlyWholeObjects();
    // Healthy again: every pair explains.
    for (const [a, b] of [
      [penny1, amy1],
      [raj2, penny1],
    ] as const)
      expect((await explainOver(env.DATA, a, b)).status).toBe(200);
  });
});
