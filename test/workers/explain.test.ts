/**
 * POST /v1/explain and GET /v1/maps inside workerd with miniflare R2: maps for a pair,
 * every map URL fetched and checked, Range and If-None-Match, basis reuse on a second
 * explanation, P and Q redrawing the maps for any θ, store:false leaving nothing behind, and
 * the explain-specific bad inputs.
 */
import { decode as decodePng } from 'fast-png';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, cropForm, fixture, form, seedModels, testKey } from './fixtures.js';

interface ExplainBody {
  decision: string;
  resultId: string;
  explanation: {
    method: string;
    centre: boolean;
    smooth: boolean;
    basis: { a: string; b: string };
    images: { a: string; b: string };
    summary: { positiveShare: number; topChannels: unknown[] } | null;
    threshold: number;
    cosine: number;
    faithfulness: Record<'similarity' | 'dissimilarity', { verdict: string; evidence: { explainsPair: boolean } | null }>;
  };
  maps: Record<string, Record<string, Record<string, string>>>;
  threshold: number;
  affine: { channels: number; a: { p: string; q: string }; b: { p: string; q: string } } | null;
  timing: { basisMs: number; combineMs: number };
}

async function countObjects(prefix = ''): Promise<number> {
  let n = 0;
  let cursor: string | undefined;
  do {
    const page = await env.DATA.list({ prefix, cursor });
    n += page.objects.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return n;
}

describe('POST /v1/explain', () => {
  let amy1: Uint8Array;
  let raj2: Uint8Array;
  let first: ExplainBody;
  beforeAll(async () => {
    await seedModels();
    amy1 = await fixture('faces/bbt/amy/amy1.png');
    raj2 = await fixture('faces/bbt/raj/raj2.png');
  });

  it('explains a new pair with the served default (FGGB, centred smoothed bases): maps for both images, bases computed', async () => {
    // While the bases are computed (seconds), the isolate keeps answering other requests.
    let done = false;
    const pending = call('/v1/explain', { method: 'POST', body: cropForm({ a: amy1, b: raj2 }) }).finally(() => (done = true));
    let answeredMeanwhile = 0;
    while (!done) {
      await new Promise((r) => setTimeout(r, 100));
      if ((await call('/healthz')).ok && !done) answeredMeanwhile++;
    }
    expect(answeredMeanwhile).toBeGreaterThanOrEqual(5);
    const res = await pending;
    const text = await res.text();
    expect(res.status, text).toBe(200);
    first = JSON.parse(text);
    expect(first.decision).toBe('reject');
    expect(first.explanation).toMatchObject({ method: 'fggb', centre: true, smooth: true });
    expect(first.explanation.basis).toEqual({ a: 'miss', b: 'miss' });
    // Each map kind is labelled with how the served mode did against pair-independent maps (models/faithfulness.json).
    const manifest = JSON.parse(new TextDecoder().decode(await fixture('models/manifest.json'))) as {
      faithfulness: { methods: Record<string, Record<string, { explainsPair: boolean }>> };
    };
    for (const kind of ['similarity', 'dissimilarity'] as const) {
      const shipped = manifest.faithfulness.methods['fggb-centred-smooth']![kind]!;
      expect(first.explanation.faithfulness[kind].evidence).toEqual(shipped);
      expect(first.explanation.faithfulness[kind].verdict).toBe(shipped.explainsPair ? 'explains-pair' : 'not-shown-to-explain-pair');
    }
    // Each image's id is the address of its cached basis and embedding (DELETE /v1/images/{id}).
    const tenant = (await testKey()).tenant;
    for (const id of [first.explanation.images.a, first.explanation.images.b]) {
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      expect((await env.DATA.list({ prefix: `t/${tenant}/bases/` })).objects.some((o) => o.key.endsWith(`/${id}.f16`))).toBe(true);
      expect((await env.DATA.list({ prefix: `t/${tenant}/embeddings/` })).objects.some((o) => o.key.endsWith(`/${id}.f32`))).toBe(true);
    }
    expect(first.explanation.summary!.topChannels).toHaveLength(5);
    expect(first.resultId).toMatch(/^[0-9a-f]{32}$/);
    expect(Object.keys(first.maps).sort()).toEqual(['a', 'b']);
    expect(res.headers.get('server-timing')).toMatch(/basis;dur=/);
    // One object per result: PNGs and sidecars are rendered when fetched.
    expect(await countObjects(`t/${(await testKey()).tenant}/results/${first.resultId}/`)).toBe(1);
  });

  it('serves every map: PNGs of the right size, raw float32, sidecars', async () => {
    for (const image of ['a', 'b']) {
      for (const kind of ['similarity', 'dissimilarity']) {
        const links = first.maps[image]![kind]!;
        const png = await call(new URL(links.png!).pathname);
        expect(png.status).toBe(200);
        expect(png.headers.get('content-type')).toBe('image/png');
        expect(png.headers.get('cache-control')).toContain('immutable');
        const grey = decodePng(new Uint8Array(await png.arrayBuffer()));
        expect([grey.width, grey.height, grey.channels]).toEqual([150, 150, 1]);
        const overlay = decodePng(new Uint8Array(await (await call(new URL(links['overlay.png']!).pathname)).arrayBuffer()));
        expect([overlay.width, overlay.height, overlay.channels]).toEqual([150, 150, 3]);
        const raw = await call(new URL(links.f32!).pathname);
        const bytes = new Uint8Array(await raw.arrayBuffer());
        expect(bytes.length).toBe(4 * 150 * 150);
        expect(raw.headers.get('x-map-shape')).toBe('150,150');
        expect(raw.headers.get('content-length')).toBe(String(4 * 150 * 150));
        const values = new Float32Array(bytes.buffer);
        expect(values.every((v) => v >= 0 && Number.isFinite(v))).toBe(true);
        const sidecar = (await (await call(new URL(links.json!).pathname)).json()) as { shape: number[]; kind: string };
        expect(sidecar).toMatchObject({ shape: [150, 150], kind });
      }
    }
  });

  it('answers Range with 206 and If-None-Match with 304', async () => {
    const path = new URL(first.maps.a!.similarity!.f32!).pathname;
    const full = new Uint8Array(await (await call(path)).arrayBuffer());
    const part = await call(path, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${full.length}`);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(full.subarray(100, 200));
    const etag = (await call(path)).headers.get('etag')!;
    expect(etag).toBeTruthy();
    const again = await call(path, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('renders a PNG once, keeps it, and serves ranges of every kind of file', async () => {
    const path = new URL(first.maps.b!.dissimilarity!['overlay.png']!).pathname;
    const key = `t/${(await testKey()).tenant}/results/${first.resultId}/b/dissimilarity.overlay.png`;
    const rendered = new Uint8Array(await (await call(path)).arrayBuffer());
    const kept = await env.DATA.get(key);
    expect(kept).not.toBeNull();
    expect(new Uint8Array(await kept!.arrayBuffer())).toEqual(rendered);
    const again = await call(path);
    expect(again.headers.get('content-length')).toBe(String(rendered.length));
    expect(new Uint8Array(await again.arrayBuffer())).toEqual(rendered);
    const tail = await call(path, { headers: { range: 'bytes=-16' } });
    expect(tail.status).toBe(206);
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(rendered.subarray(rendered.length - 16));
    const json = new URL(first.maps.b!.dissimilarity!.json!).pathname;
    const whole = new Uint8Array(await (await call(json)).arrayBuffer());
    const head = await call(json, { headers: { range: 'bytes=0-9' } });
    expect(head.status).toBe(206);
    expect(new Uint8Array(await head.arrayBuffer())).toEqual(whole.subarray(0, 10));
  });

  it('answers unsatisfiable ranges with 416 and weak If-None-Match with 304', async () => {
    const path = new URL(first.maps.a!.dissimilarity!.f32!).pathname;
    const res = await call(path, { headers: { range: `bytes=${4 * 150 * 150}-` } });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe(`bytes */${4 * 150 * 150}`);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    const etag = (await call(path, { headers: { range: 'bytes=0-0' } })).headers.get('etag')!;
    expect((await call(path, { headers: { 'if-none-match': `"other", W/${etag}` } })).status).toBe(304);
  });

  it('reuses both bases for a second explanation of the same images', async () => {
    const res = await call('/v1/explain', { method: 'POST', body: cropForm({ a: raj2, b: amy1 }) });
    const body = (await res.json()) as ExplainBody;
    expect(res.status).toBe(200);
    expect(body.explanation.basis).toEqual({ a: 'hit', b: 'hit' });
    expect(body.timing.basisMs).toBe(0);
    // Swapping A and B gives image B's former map as image A's.
    const mapA = new Uint8Array(await (await call(new URL(body.maps.a!.similarity!.f32!).pathname)).arrayBuffer());
    const before = new Uint8Array(await (await call(new URL(first.maps.b!.similarity!.f32!).pathname)).arrayBuffer());
    expect(mapA).toEqual(before);
  });

  it("P and Q redraw the server's maps for any θ: S(θ) = P − (θ/N)·Q, split, equals the maps explained at that θ", async () => {
    const f32 = async (link: string) => {
      const res = await call(new URL(link).pathname);
      expect(res.status).toBe(200);
      return { values: new Float32Array(await res.arrayBuffer()), channels: res.headers.get('x-map-channels') };
    };
    expect(first.affine!.channels).toBe(128);
    // The face each map is drawn on, as the model saw it.
    const face = await call(new URL(first.affine!.a.p.replace('/p.f32', '/face.png')).pathname);
    expect(face.status).toBe(200);
    const faceImage = decodePng(new Uint8Array(await face.arrayBuffer()));
    expect([faceImage.width, faceImage.height, faceImage.channels]).toEqual([150, 150, 3]);
    const offset = first.explanation.threshold - first.threshold;
    const parts = {} as Record<'a' | 'b', { p: Float32Array; q: Float32Array }>;
    for (const image of ['a', 'b'] as const) {
      const p = await f32(first.affine![image].p);
      const q = await f32(first.affine![image].q);
      expect(p.channels).toBe('128');
      parts[image] = { p: p.values, q: q.values };
    }
    // The served θ, and three others: one of them accepts this impostor pair.
    for (const threshold of [first.threshold, 0.5, 0.8, 0.95]) {
      const res = await call('/v1/explain', {
        method: 'POST',
        body: cropForm({ a: amy1, b: raj2, threshold: String(threshold) }),
      });
      const body = (await res.json()) as ExplainBody;
      expect(res.status).toBe(200);
      expect(body.explanation.basis).toEqual({ a: 'hit', b: 'hit' });
      expect(body.explanation.threshold - threshold).toBeCloseTo(offset, 12);
      for (const image of ['a', 'b'] as const) {
        const { p, q } = parts[image];
        const θ = threshold + offset;
        for (const kind of ['similarity', 'dissimilarity'] as const) {
          const server = (await f32(body.maps[image]![kind]!.f32!)).values;
          // Relative to the signed map's largest value (one side may be all zeros at some θ).
          let scale = 0;
          let worst = 0;
          for (let i = 0; i < p.length; i++) {
            const s = p[i]! - (θ / 128) * q[i]!;
            const redrawn = kind === 'similarity' ? Math.max(s, 0) : Math.max(-s, 0);
            scale = Math.max(scale, Math.abs(s));
            worst = Math.max(worst, Math.abs(redrawn - server[i]!));
          }
          expect(scale).toBeGreaterThan(0);
          expect(worst / scale).toBeLessThan(1e-5);
        }
      }
    }
    // Other methods have no P and Q.
    const xssab = (await (
      await call('/v1/explain', { method: 'POST', body: cropForm({ a: amy1, b: raj2, method: 'xssab' }) })
    ).json()) as ExplainBody;
    expect(xssab.affine).toBeNull();
    const missing = await call(new URL(first.affine!.a.p.replace(first.resultId, xssab.resultId)).pathname);
    expect(missing.status).toBe(404);
  });

  it('explains with CorrRISE (seeded, on the int8 model): maps stored and served like the others', async () => {
    const corr = async () => {
      const res = await call('/v1/explain', { method: 'POST', body: cropForm({ a: amy1, b: raj2, method: 'corrrise' }) });
      const body = (await res.json()) as ExplainBody & { resultId: string; similarity: number };
      expect(res.status, JSON.stringify(body)).toBe(200);
      return body;
    };
    const body = await corr();
    expect(body.explanation.method).toBe('corrrise');
    // Each image's occlusion embeddings were built by its builder object and kept in R2.
    expect(body.explanation.basis).toEqual({ a: 'miss', b: 'miss' });
    for (const image of ['a', 'b'] as const) {
      const key = (await env.DATA.list({ prefix: 't/' })).objects
        .map((o) => o.key)
        .find((k) => k.endsWith(`/corrrise-200x4p30s17/${body.explanation.images[image]}.f32`));
      expect(key, image).toBeDefined();
      expect((await env.DATA.head(key!))!.size).toBe(4 * 200 * 128);
    }
    expect(body.explanation.cosine).toBeCloseTo(body.similarity, 5);
    const raw = new Float32Array(await (await call(new URL(body.maps.a!.similarity!.f32!).pathname)).arrayBuffer());
    expect(raw).toHaveLength(150 * 150);
    expect(Math.max(...raw)).toBeGreaterThan(0);
    expect(Math.max(...raw)).toBeLessThanOrEqual(1); // a correlation
    expect(Math.min(...raw)).toBeGreaterThanOrEqual(0);
    const png = await call(new URL(body.maps.b!.dissimilarity!.png!).pathname);
    expect(png.headers.get('content-type')).toBe('image/png');
    // Seeded masks: the same pair gives the same result id and the same maps.
    const again = await corr();
    expect(again.explanation.basis).toEqual({ a: 'hit', b: 'hit' });
    expect(again.resultId).toBe(body.resultId);
    const rawAgain = new Float32Array(await (await call(new URL(again.maps.a!.similarity!.f32!).pathname)).arrayBuffer());
    expect(rawAgain).toEqual(raw);
  });

  it("each basis kind is its own cached basis: the paper's FGGB beside the default's centred smoothed bases", async () => {
    const explain = async (centre: boolean, smooth: boolean) => {
      const fields = { a: raj2, b: amy1, centre: String(centre), smooth: String(smooth), maps: 'a.similarity' };
      const res = await call('/v1/explain', { method: 'POST', body: cropForm(fields) });
      const body = (await res.json()) as ExplainBody;
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.explanation).toMatchObject({ centre, smooth });
      return body;
    };
    // The centred smoothed bases of these images are cached by now; the plain ones are not.
    const again = await explain(true, true);
    expect(again.explanation.basis).toEqual({ a: 'hit', b: 'hit' });
    const plain = await explain(false, false);
    expect(plain.explanation.basis).toEqual({ a: 'miss', b: 'miss' });
    expect((await explain(false, false)).explanation.basis).toEqual({ a: 'hit', b: 'hit' });
    const f32 = async (b: ExplainBody) => new Float32Array(await (await call(new URL(b.maps.a!.similarity!.f32!).pathname)).arrayBuffer());
    const [s, p] = [await f32(again), await f32(plain)];
    expect(s.length).toBe(p.length);
    expect(s).not.toEqual(p);
  });

  it('store: false keeps nothing and inlines the maps', async () => {
    const penny = await fixture('faces/bbt/penny/penny1.png');
    const before = await countObjects();
    const res = await call('/v1/explain', {
      method: 'POST',
      body: cropForm({ a: penny, b: amy1, store: 'false', maps: 'a.similarity', method: 'xssab' }),
    });
    const body = (await res.json()) as ExplainBody;
    expect(res.status).toBe(200);
    expect(await countObjects()).toBe(before);
    expect(body.explanation.basis).toEqual({ a: 'none', b: 'none' });
    expect(Object.keys(body.maps)).toEqual(['a']);
    const png = body.maps.a!.similarity!.png!;
    expect(png).toMatch(/^data:image\/png;base64,/);
    const decoded = decodePng(Uint8Array.from(atob(png.split(',')[1]!), (ch) => ch.charCodeAt(0)));
    expect(decoded.width).toBe(150);
  });

  it('explains a pair of photos and lays each map back on its photo', async () => {
    const [obama1, group] = await Promise.all([
      fixture('faces/photos/single/obama_1.jpg'),
      fixture('faces/photos/group/obama_and_biden.jpg'),
    ]);
    const fields = { a: obama1, b: group, maps: 'a.similarity,b.dissimilarity', centre: 'false', smooth: 'false' };
    const res = await call('/v1/explain', { method: 'POST', body: form(fields) });
    const body = (await res.json()) as ExplainBody & { images: { b: { faces: unknown[] } } };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.images.b.faces).toHaveLength(2);
    for (const [image, kind] of [
      ['a', 'similarity'],
      ['b', 'dissimilarity'],
    ] as const) {
      const link = body.maps[image]![kind]!['photo-overlay.png']!;
      const png = await call(new URL(link).pathname);
      expect(png.status).toBe(200);
      expect(png.headers.get('content-type')).toBe('image/png');
      const decoded = decodePng(new Uint8Array(await png.arrayBuffer()));
      // The photo scaled to fit 512 px, its aspect kept.
      expect(Math.max(decoded.width, decoded.height)).toBe(512);
      // A second request streams the kept rendering: the same bytes.
      const again = new Uint8Array(await (await call(new URL(link).pathname)).arrayBuffer());
      expect(again.length).toBeGreaterThan(1000);
    }
    // Crops have no photo to lay maps on.
    const crop = await call('/v1/explain', { method: 'POST', body: cropForm({ a: amy1, b: raj2, maps: 'a.similarity' }) });
    const cropBody = (await crop.json()) as ExplainBody;
    expect(cropBody.maps.a!.similarity!['photo-overlay.png']).toBeUndefined();
    const missing = await call(`/v1/maps/${cropBody.resultId}/a/similarity.photo-overlay.png`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('bad explain inputs: unknown method, threshold out of range, unknown map', async () => {
    const json = (body: unknown) =>
      call('/v1/explain', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const img = { base64: btoa(String.fromCharCode(...amy1.subarray(0, 10))) };
    for (const bad of [{ method: 'lime' }, { threshold: -1.5 }, { maps: ['c.similarity'] }, { centre: 'yes' }]) {
      const res = await json({ a: img, b: img, ...bad });
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(((await res.json()) as { type: string }).type).toBe('/problems/invalid-request');
    }
    const form404 = await call('/v1/explain', { method: 'POST', body: cropForm({ a: amy1, b: raj2, method: 'lime' }) });
    expect(form404.status).toBe(400);
  });

  it('unknown maps are 404 problems', async () => {
    for (const path of [
      `/v1/maps/${'0'.repeat(32)}/a/similarity.png`,
      `/v1/maps/${first.resultId}/c/similarity.png`,
      `/v1/maps/${first.resultId}/a/happiness.png`,
      '/v1/maps/nothex/a/similarity.png',
    ]) {
      const res = await call(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    }
  });
});
