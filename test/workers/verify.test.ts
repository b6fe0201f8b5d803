/**
 * POST /v1/verify inside workerd: real pairs, equality with the Node-side engine, and
 * every error class with hostile inputs (none may give a 500 or break the isolate).
 */
import { encode as encodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import { decode as decodePng } from 'fast-png';
import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { photoModelsService } from '../../src/worker/photo-models.js';
import { DETECT_SIDE } from '../../src/engine/image-decode.js';
import { readHeader } from '../../src/image/index.js';
import { call, cropForm, expectProblem, fixture, fixtureResponse, form, seedModels } from './fixtures.js';

const PAIRS: [string, string, boolean][] = [
  ['bbt/amy/amy1.png', 'bbt/amy/amy2.png', true],
  ['bbt/sheldon/sheldon1.png', 'bbt/sheldon/sheldon3.png', true],
  ['bbt/raj/raj2.png', 'bbt/raj/raj5.png', true],
  ['bbt/amy/amy1.png', 'bbt/raj/raj2.png', false],
  ['bbt/penny/penny1.png', 'bbt/leonard/leonard1.png', false],
  ['bbt/howard/howard2.png', 'bbt/stuart/stuart3.png', false],
];

async function verifyForm(a: Uint8Array, b: Uint8Array, extra: Record<string, string> = {}) {
  return call('/v1/verify', { method: 'POST', body: cropForm({ a, b, ...extra }) });
}

const b64 = (bytes: Uint8Array) => {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
};

describe('POST /v1/verify', () => {
  let amy1: Uint8Array;
  let amy2: Uint8Array;
  beforeAll(async () => {
    await seedModels();
    amy1 = await fixture('faces/bbt/amy/amy1.png');
    amy2 = await fixture('faces/bbt/amy/amy2.png');
  });

  it.each(PAIRS)('%s vs %s: same=%s, equal to the Node engine to 1e-6', async (pa, pb, same) => {
    const res = await verifyForm(await fixture(`faces/${pa}`), await fixture(`faces/${pb}`));
    const body = (await res.json()) as {
      similarity: number;
      threshold: number;
      decision: string;
      model: { id: string };
      embeddingNorms: { a: number };
    };
    expect(res.status).toBe(200);
    expect(body.decision).toBe(same ? 'accept' : 'reject');
    expect(body.model.id).toBe('face-resnet');
    expect(body.embeddingNorms.a).toBeGreaterThan(0.5);
    expect(res.headers.get('server-timing')).toMatch(/inference;dur=/);
    const ref = (await (await fixtureResponse(`engine/verify?a=${pa}&b=${pb}`)).json()) as { similarity: number; threshold: number };
    expect(Math.abs(body.similarity - ref.similarity)).toBeLessThanOrEqual(1e-6);
    expect(body.threshold).toBe(ref.threshold);
  });

  it('accepts base64 JSON, JPEG and a caller threshold', async () => {
    const img = decodePng(amy2);
    const rgba = new Uint8Array(img.width * img.height * 4);
    for (let i = 0; i < img.width * img.height; i++) rgba.set([img.data[i]!, img.data[i]!, img.data[i]!, 255], i * 4);
    const jpg = new Uint8Array(jpeg.encode({ width: img.width, height: img.height, data: rgba }, 95).data);
    const res = await call('/v1/verify', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: { base64: b64(amy1) }, b: { base64: b64(jpg) }, threshold: 0.999, input: 'aligned-crop' }),
    });
    const body = (await res.json()) as { similarity: number; threshold: number; decision: string };
    expect(res.status).toBe(200);
    expect(body.threshold).toBe(0.999);
    expect(body.similarity).toBeGreaterThan(0.9);
    expect(body.decision).toBe('reject');
  });

  it('verifies a pair of photos: faces found, the chosen face, its chip → photo transform, equal to the Node pipeline', async () => {
    const [obama1, group] = await Promise.all([
      fixture('faces/photos/single/obama_1.jpg'),
      fixture('faces/photos/group/obama_and_biden.jpg'),
    ]);
    const res = await call('/v1/verify', { method: 'POST', body: form({ a: obama1, b: group }) });
    const body = await res.json<{
      similarity: number;
      decision: string;
      images: {
        a: {
          input: string;
          faces: { box: { x: number; width: number } }[];
          face: number;
          chipToPhoto: { a: number };
          detectorSize: number;
        };
        b: { faces: unknown[]; face: number; detectorSize: number };
      };
    }>();
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.images.a.input).toBe('photo');
    expect(body.images.a.faces).toHaveLength(1);
    expect(body.images.b.faces).toHaveLength(2);
    // The portrait's face stands at the tiny detector pass; the group's small faces take the full one.
    expect([body.images.a.detectorSize, body.images.b.detectorSize]).toEqual([352, 512]);
    expect(res.headers.get('server-timing')).toMatch(/detect;dur=/);
    // Each face of the group photo, picked by index: one is Obama (accept), the other not.
    const decisions = [];
    for (const index of [0, 1]) {
      const picked = await call('/v1/verify', { method: 'POST', body: form({ a: obama1, b: group, faceB: String(index) }) });
      const r = await picked.json<{ decision: string; images: { b: { face: number } } }>();
      expect(r.images.b.face).toBe(index);
      decisions.push(r.decision);
    }
    expect(decisions.sort()).toEqual(['accept', 'reject']);
    const ref = await (
      await fixtureResponse('engine/verify?a=photos/single/obama_1.jpg&b=photos/group/obama_and_biden.jpg&input=photo')
    ).json<{ similarity: number }>();
    expect(Math.abs(body.similarity - ref.similarity)).toBeLessThanOrEqual(1e-6);
    // The detector and landmark net ran in the photo-models Worker (PHOTO_MODELS), not here.
    const models = await (await call('/v1/models')).json<{ runtime: { photoModelsWasmHeapBytes: number | null } }>();
    expect(models.runtime.photoModelsWasmHeapBytes).toBeGreaterThan(4 * 1024 * 1024);
  });

  it('answers a photo without a face, or a face that does not exist, with 422 no-face', async () => {
    // A smooth colour gradient: no face for either detector pass.
    const [w, h] = [320, 240];
    const pixels = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) pixels.set([x % 256, y, (x + y) % 256], 3 * (y * w + x));
    const faceless = encodePng({ width: w, height: h, channels: 3, data: pixels });
    const obama1 = await fixture('faces/photos/single/obama_1.jpg');
    const none = await expectProblem(await call('/v1/verify', { method: 'POST', body: form({ a: obama1, b: faceless }) }), 422, 'no-face');
    expect(none.field).toBe('b');
    await expectProblem(await call('/v1/verify', { method: 'POST', body: form({ a: obama1, b: obama1, faceA: '3' }) }), 422, 'no-face');
    await expectProblem(
      await call('/v1/verify', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ a: { base64: b64(obama1) }, b: { base64: b64(obama1) }, faces: { b: { point: { x: 1, y: 1 } } } }),
      }),
      422,
      'no-face',
    );
  });

  it('accepts phone-size photos (a 24 MP JPEG, a 12 MP PNG): decoded at 1/8 in wasm, shrunk by the Images binding, verified like the photo they were made from', async () => {
    const original = await fixture('faces/photos/single/obama_1.jpg');
    const [jpeg24, png12] = await Promise.all([
      fixture('phone/4000x6000.jpg/photos/single/obama_1.jpg'),
      fixture('phone/3000x4000.png/photos/single/obama_1.jpg'),
    ]);
    expect(png12.length).toBeGreaterThan(8 * 1024 * 1024);
    type Body = { similarity: number; decision: string; images: { a: { width: number; height: number; scale: number; faces: unknown[] } } };
    // The JPEG is decoded at the nearest eighth at or above DETECT_SIDE (1/8: 750 px), the PNG shrunk to it.
    for (const [big, width, height, side] of [
      [jpeg24, 4000, 6000, Math.ceil(6000 / 8)],
      [png12, 3000, 4000, DETECT_SIDE],
    ] as const) {
      const res = await call('/v1/verify', { method: 'POST', body: form({ a: big, b: original }) });
      const body = await res.json<Body>();
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.decision).toBe('accept');
      expect(body.similarity).toBeGreaterThan(0.98);
      expect([body.images.a.width, body.images.a.height]).toEqual([width, height]);
      // Found there; the face is large, so its chip is cut there too (no second decode).
      expect(body.images.a.scale).toBeCloseTo(Math.max(width, height) / side, 2);
      expect(body.images.a.faces).toHaveLength(1);
    }
  });

  it('decodes JPEGs at a DCT scale in the photo-models Worker’s wasm (MozJPEG whole for an older caller), and hands a PNG to the Images binding', async () => {
    const photoModels = photoModelsService(env)!;
    const [mid, big, png] = await Promise.all([
      fixture('faces/photos/single/obama_3.jpg'),
      fixture('phone/4000x6000.jpg/photos/single/obama_1.jpg'),
      fixture('phone/3000x4000.png/photos/single/obama_1.jpg'),
    ]);
    const stream = (bytes: Uint8Array) => new Blob([bytes as Uint8Array<ArrayBuffer>]).stream();
    const pixels = (out: Awaited<ReturnType<typeof photoModels.shrink>>) => out.ok && 'image' in out && [out.image.width, out.image.height];
    const target = { height: DETECT_SIDE };
    // 1434×2333 at 3/8; 4000×6000 at 1/8; both as they come, within atMost.
    expect(pixels(await photoModels.shrink(stream(mid), target, readHeader(mid), { atMost: 1600, bytes: mid.length }))).toEqual([538, 875]);
    const bigHeader = readHeader(big, { maxPixels: 1e8 });
    expect(pixels(await photoModels.shrink(stream(big), target, bigHeader, { atMost: 1600, bytes: big.length }))).toEqual([500, 750]);
    // Past atMost it is shrunk to the target, as the image service rounds it.
    expect(pixels(await photoModels.shrink(stream(mid), target, readHeader(mid), { atMost: 800, bytes: mid.length }))).toEqual([393, 640]);
    // A caller that does not say the upload's size (an API Worker deployed before this one) gets what it got before.
    expect(pixels(await photoModels.shrink(stream(mid), target, readHeader(mid)))).toEqual([393, DETECT_SIDE]);
    const service = await photoModels.shrink(stream(png), target, readHeader(png, { maxPixels: 1e8 }), { bytes: png.length });
    expect(service.ok && 'bytes' in service && service.type).toBe('image/png');
    // The decoders' heaps are counted with onnxruntime's (MozJPEG's starts at 16 MiB).
    const models = await (await call('/v1/models')).json<{ runtime: { photoModelsWasmHeapBytes: number | null } }>();
    expect(models.runtime.photoModelsWasmHeapBytes).toBeGreaterThanOrEqual(16 * 1024 * 1024);
  });

  describe('hostile input gets the right problem response', () => {
    it('a phone-size JPEG cut short: the image service cannot read it, 422', async () => {
      const big = await fixture('phone/4000x6000.jpg/photos/single/obama_1.jpg');
      const body = await expectProblem(
        await call('/v1/verify', {
          method: 'POST',
          body: form({ a: await fixture('faces/photos/single/obama_1.jpg'), b: big.slice(0, big.length >> 1) }),
        }),
        422,
        'undecodable-image',
      );
      expect(body.field).toBe('b');
    });
    it('a JPEG of a few MP cut short: the wasm decoders refuse it, naming why, 422', async () => {
      const mid = await fixture('faces/photos/single/obama_3.jpg');
      const body = await expectProblem(
        await call('/v1/verify', {
          method: 'POST',
          body: form({ a: mid.slice(0, mid.length >> 1), b: await fixture('faces/photos/single/obama_1.jpg') }),
        }),
        422,
        'undecodable-image',
      );
      expect(body.field).toBe('a');
      expect(body.detail).toMatch(/premature end/i);
    });
    it('empty body', async () => {
      await expectProblem(await call('/v1/verify', { method: 'POST' }), 415, 'unsupported-media-type');
      await expectProblem(
        await call('/v1/verify', { method: 'POST', headers: { 'content-type': 'application/json' } }),
        400,
        'invalid-request',
      );
    });
    it('wrong content type', async () => {
      await expectProblem(
        await call('/v1/verify', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' }),
        415,
        'unsupported-media-type',
      );
    });
    it('a PNG header with garbage after it', async () => {
      const bad = new Uint8Array(200);
      bad.set(amy1.subarray(0, 33));
      bad.fill(0xab, 33);
      const body = await expectProblem(await verifyForm(bad, amy2), 422, 'undecodable-image');
      expect(body.field).toBe('a');
    });
    it('a truncated JPEG', async () => {
      const jpg = new Uint8Array(jpeg.encode({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 4).fill(128) }, 90).data);
      await expectProblem(await verifyForm(amy1, jpg.subarray(0, 300)), 422, 'undecodable-image');
    });
    it('a 1×1 image', async () => {
      const tiny = encodePng({ width: 1, height: 1, channels: 3, data: new Uint8Array([1, 2, 3]) });
      await expectProblem(await verifyForm(tiny, amy2), 422, 'undecodable-image');
    });
    it('a 100000×100000 PNG header, as a photo', async () => {
      const big = amy1.slice(0, 200);
      const view = new DataView(big.buffer);
      view.setUint32(16, 100000);
      view.setUint32(20, 100000);
      await expectProblem(await call('/v1/verify', { method: 'POST', body: form({ a: big, b: amy2 }) }), 413, 'payload-too-large');
    });
    it('a 20000×20000 PNG header', async () => {
      const big = amy1.slice(0, 200);
      const view = new DataView(big.buffer);
      view.setUint32(16, 20000);
      view.setUint32(20, 20000);
      await expectProblem(await verifyForm(big, amy2), 413, 'payload-too-large');
    });
    it('a 30 MB body', async () => {
      const huge = new Uint8Array(30 * 1024 * 1024);
      await expectProblem(await verifyForm(huge, amy2), 413, 'payload-too-large');
    });
    it('JSON with wrong types', async () => {
      const res = await call('/v1/verify', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ a: 5, b: { base64: 7 }, threshold: 'high' }),
      });
      const body = await expectProblem(res, 400, 'invalid-request');
      expect(body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['a', 'b.base64', 'threshold']);
    });
    it('malformed JSON', async () => {
      await expectProblem(
        await call('/v1/verify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' }),
        400,
        'invalid-request',
      );
    });
    it('base64 that is not base64', async () => {
      const res = await call('/v1/verify', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ a: { base64: '!!not base64!!' }, b: { base64: b64(amy2) }, input: 'aligned-crop' }),
      });
      await expectProblem(res, 400, 'invalid-request');
    });
    it('base64 of something that is not an image', async () => {
      const res = await call('/v1/verify', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ a: { base64: btoa('just text, no image') }, b: { base64: b64(amy2) }, input: 'aligned-crop' }),
      });
      await expectProblem(res, 415, 'unsupported-media-type');
    });
    it('threshold out of range and a missing field', async () => {
      await expectProblem(await verifyForm(amy1, amy2, { threshold: '2' }), 400, 'invalid-request');
      await expectProblem(await call('/v1/verify', { method: 'POST', body: cropForm({ a: amy1 }) }), 400, 'invalid-request');
    });
    it('unknown routes and wrong methods', async () => {
      await expectProblem(await call('/v1/nothing'), 404, 'not-found');
      const res = await call('/v1/verify');
      await expectProblem(res, 405, 'method-not-allowed');
      expect(res.headers.get('allow')).toContain('POST');
    });
    it('after all of that, a valid request still works', async () => {
      const res = await verifyForm(amy1, amy2);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { decision: string }).decision).toBe('accept');
    });
  });
});

describe('service endpoints', () => {
  it('GET /healthz, /v1/models, /openapi.json, /docs, CORS', async () => {
    expect(await (await call('/healthz')).json()).toEqual({ status: 'ok', service: 'xfv-edge' });
    const models = (await (await call('/v1/models')).json()) as {
      models: { id: string; decision: { threshold: number }; files: Record<string, unknown> }[];
    };
    expect(models.models[0]!.id).toBe('face-resnet');
    expect(models.models[0]!.decision.threshold).toBeGreaterThan(0.5);
    const doc = (await (await call('/openapi.json')).json()) as { paths: Record<string, unknown>; info: { description: string } };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/verify', '/v1/models', '/healthz']));
    // The API reference is a static page (public/docs/, test/e2e); /docs points there.
    const docs = await call('/docs', { redirect: 'manual' });
    expect([301, 302, 307, 308]).toContain(docs.status);
    expect(docs.headers.get('location')).toMatch(/\/docs\/$/);
    expect(doc.info.description).toContain('/problems/no-face');
    const pre = await call('/v1/verify', {
      method: 'OPTIONS',
      headers: { origin: 'https://example.com', 'access-control-request-method': 'POST' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    const problemDoc = await call('/problems/payload-too-large');
    expect(await problemDoc.text()).toContain('413');
    // Security headers on every answer: JSON, problems, HTML.
    for (const res of [await call('/healthz'), await call('/v1/nothing'), await call('/problems/busy')]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    }
  });
});
