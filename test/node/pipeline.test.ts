/**
 * The seams the engine's pipelines gained: the explain pipeline over in-memory tenant
 * stores (a fresh basis and a cached one give bit-identical maps and one result id; the
 * stored result reads back through its layout; store: false keeps nothing), the artifacts
 * stage, and Shared (waiting on another request's work).
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { distEngine } from '../../src/cli/dist-engine.js';
import { explanationRecord, mapOf, renderArtifacts, sidecar } from '../../src/engine/artifacts.js';
import type { Engine } from '../../src/engine/engine.js';
import { BASIS_DTYPE, explainImages } from '../../src/engine/explain-images.js';
import { Shared } from '../../src/engine/shared-wait.js';
import { DEFAULT_LIMITS, verifyPair } from '../../src/engine/verify.js';
import { bytesBasisCache } from '../../src/store/basis.js';
import { type ResultStore, type StoredBody, encodeResult, layoutOf } from '../../src/store/results.js';
import type { TenantStores } from '../../src/store/tenant.js';
import { MAP_SELECTORS } from '../../src/xfv/maps.js';
import { loadPairs } from '../../eval/lib/faces.js';
import { describeWithFaces } from './helpers.js';

const body = (bytes: Uint8Array): StoredBody => ({
  size: bytes.length,
  body: new Blob([bytes as BlobPart]).stream(),
  bytes: async () => bytes,
});

/** A tenant's stores in memory, with the same formats as R2 (objects as whole byte arrays). */
function memoryStores(): TenantStores & { objects: Map<string, Uint8Array> } {
  const objects = new Map<string, Uint8Array>();
  const meta = new Map<string, Record<string, string>>();
  const results: ResultStore = {
    async put(id, parts) {
      const encoded = encodeResult(parts);
      objects.set(`results/${id}`, new Uint8Array(await new Blob(encoded.parts as BlobPart[]).arrayBuffer()));
      meta.set(`results/${id}`, encoded.customMetadata);
    },
    layout: async (id) => layoutOf(meta.get(`results/${id}`)),
    async read(id, { offset, length }) {
      return body(objects.get(`results/${id}`)!.subarray(offset, offset + length));
    },
    rendered: async (id, path) => (objects.has(`results/${id}/${path}`) ? body(objects.get(`results/${id}/${path}`)!) : undefined),
    keepRendered: async (id, path, bytes) => void objects.set(`results/${id}/${path}`, bytes),
  };
  const embeddings = new Map<string, Float32Array>();
  return {
    objects,
    tenant: 'test',
    bases: bytesBasisCache(
      (key) => objects.get(key),
      (key, bytes) => void objects.set(key, bytes),
    ),
    basisKey: (variant, sha, dtype) => `bases/${variant}/${sha}.${dtype}`,
    embeddings: { get: async (sha) => embeddings.get(sha), put: async (sha, e) => void embeddings.set(sha, e) },
    occlusions: {
      get: async (key, values) => {
        const bytes = objects.get(key);
        return bytes?.length === 4 * values ? new Float32Array(bytes.slice().buffer) : undefined;
      },
      put: async (key, units) => void objects.set(key, new Uint8Array(units.slice().buffer)),
    },
    results,
  };
}

describeWithFaces('explain pipeline', () => {
  const { pairs } = loadPairs();
  const pair = pairs.find((p) => p.same)!;
  const images = { a: new Uint8Array(readFileSync(pair.a)), b: new Uint8Array(readFileSync(pair.b)), input: 'aligned-crop' as const };
  let engine: Engine;

  beforeAll(async () => {
    engine = await distEngine();
  });

  it('computes and stores bases and the result once, then answers from the cache with bit-identical maps', async () => {
    const stores = memoryStores();
    const request = { ...images, method: 'fggb' as const, centre: false, store: true };
    const fresh = await explainImages(engine, request, { limits: DEFAULT_LIMITS, stores });
    expect([fresh.explanation.a.basis, fresh.explanation.b.basis]).toEqual(['miss', 'miss']);
    expect([...stores.objects.keys()].filter((k) => k.startsWith('bases/')).every((k) => k.endsWith(`.${BASIS_DTYPE}`))).toBe(true);
    const cached = await explainImages(engine, request, { limits: DEFAULT_LIMITS, stores });
    expect([cached.explanation.a.basis, cached.explanation.b.basis]).toEqual(['hit', 'hit']);
    expect(cached.resultId).toBe(fresh.resultId);
    for (const selector of MAP_SELECTORS) expect(mapOf(cached.explanation, selector)).toEqual(mapOf(fresh.explanation, selector));

    // The decision is the verify pipeline's, and the stored result reads back through its layout.
    const verified = await verifyPair(engine, images, { limits: DEFAULT_LIMITS });
    expect(fresh.verified.result.similarity).toBe(verified.result.similarity);
    const layout = (await stores.results.layout(fresh.resultId))!;
    expect(layout.size).toBe(fresh.size);
    const raw = await (await stores.results.read(fresh.resultId, layout.map('b.dissimilarity'))).bytes();
    expect(new Float32Array(raw.slice().buffer)).toEqual(fresh.explanation.b.maps.dissimilarity);
    const record = JSON.parse(new TextDecoder().decode(await (await stores.results.read(fresh.resultId, layout.record)).bytes()));
    expect(record).toEqual(JSON.parse(JSON.stringify(fresh.record)));
  });

  it("CorrRISE keeps each image's occlusion embeddings under its mask set, and a cached pair gets the same maps without inference", async () => {
    const stores = memoryStores();
    let modelWork = 0;
    const gradientWork = <T>(task: () => Promise<T>) => {
      modelWork++;
      return task();
    };
    const request = { ...images, method: 'corrrise' as const, centre: false, store: true };
    const fresh = await explainImages(engine, request, { limits: DEFAULT_LIMITS, stores, gradientWork });
    expect([fresh.explanation.a.basis, fresh.explanation.b.basis, modelWork]).toEqual(['miss', 'miss', 1]);
    const keys = [...stores.objects.keys()].filter((k) => k.startsWith('bases/corrrise-'));
    expect(keys.sort()).toEqual(fresh.verified.shas.map((sha) => `bases/corrrise-200x4p30s17/${sha}.f32`).sort());
    const cached = await explainImages(engine, request, { limits: DEFAULT_LIMITS, stores, gradientWork });
    expect([cached.explanation.a.basis, cached.explanation.b.basis, modelWork]).toEqual(['hit', 'hit', 1]);
    for (const selector of MAP_SELECTORS) expect(mapOf(cached.explanation, selector)).toEqual(mapOf(fresh.explanation, selector));
  });

  it('keeps nothing with store: false, and its maps equal the stored path (the CLI and the API agree)', async () => {
    const stores = memoryStores();
    const kept = await explainImages(
      engine,
      { ...images, method: 'fggb', centre: false, store: true },
      { limits: DEFAULT_LIMITS, stores: memoryStores() },
    );
    const inline = await explainImages(
      engine,
      { ...images, method: 'fggb', centre: false, store: false },
      { limits: DEFAULT_LIMITS, stores },
    );
    expect(stores.objects.size).toBe(0);
    expect(inline.stored).toBe(false);
    for (const selector of MAP_SELECTORS) expect(mapOf(inline.explanation, selector)).toEqual(mapOf(kept.explanation, selector));
  });
});

describe('artifacts', () => {
  const size = 4;
  const map = (seed: number) => Float32Array.from({ length: size * size }, (_, i) => Math.max(0, Math.sin(seed + i)));
  const expl = {
    method: 'fggb' as const,
    a: { maps: { raw: map(1), similarity: map(1), dissimilarity: map(2) }, basis: 'miss' as const },
    b: { maps: { raw: map(3), similarity: map(3), dissimilarity: map(4) }, basis: 'hit' as const },
    embeddings: [new Float32Array(2), new Float32Array(2)] as [Float32Array, Float32Array],
    cosine: 0.5,
    timing: { embeddingMs: 0, basisMs: 0, combineMs: 0 },
  };

  it('records each map’s raw statistics and describes it in its sidecar', () => {
    const record = explanationRecord(expl, size, { centre: false, threshold: 0.4, resultId: 'r' });
    const m = expl.b.maps.dissimilarity;
    expect(record.stats['b.dissimilarity']).toEqual({ min: Math.min(...m), max: Math.max(...m), sum: m.reduce((s, v) => s + v, 0) });
    const car = sidecar(record, 'b', 'dissimilarity');
    expect(car).toMatchObject({
      image: 'b',
      kind: 'dissimilarity',
      shape: [size, size],
      method: 'fggb',
      threshold: 0.4,
      resultId: 'r',
      raw: record.stats['b.dissimilarity'],
    });
  });

  it('renders four files per wanted map: raw f32 bytes, two PNGs and the sidecar', () => {
    const faces: [Uint8Array, Uint8Array] = [new Uint8Array(3 * size * size).fill(128), new Uint8Array(3 * size * size).fill(64)];
    const files = renderArtifacts(expl, faces, size, ['a.similarity', 'b.dissimilarity'], { centre: false, threshold: 0.4 });
    expect(files.map((f) => `${f.image}.${f.kind}.${f.format}`)).toEqual([
      'a.similarity.f32',
      'a.similarity.png',
      'a.similarity.overlay.png',
      'a.similarity.json',
      'b.dissimilarity.f32',
      'b.dissimilarity.png',
      'b.dissimilarity.overlay.png',
      'b.dissimilarity.json',
    ]);
    const f32 = files.find((f) => f.image === 'b' && f.format === 'f32')!;
    expect(new Float32Array(f32.bytes.slice().buffer)).toEqual(expl.b.maps.dissimilarity);
    for (const png of files.filter((f) => f.format.endsWith('png')))
      expect([...png.bytes.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  });
});

describe('stored result layout', () => {
  it('keeps photo previews after the record and reads every part back through the metadata', async () => {
    const size = 3;
    const map = (v: number) => new Float32Array(size * size).fill(v);
    const maps = { 'a.similarity': map(1), 'a.dissimilarity': map(2), 'b.similarity': map(3), 'b.dissimilarity': map(4) };
    const faces = { a: new Uint8Array(27).fill(5), b: new Uint8Array(27).fill(6) };
    const photo = { width: 4, height: 2, data: Uint8Array.from({ length: 24 }, (_, i) => i) };
    const encoded = encodeResult({ size, maps, faces, record: { hello: 'world' }, photos: { b: photo } });
    const bytes = new Uint8Array(await new Blob(encoded.parts as BlobPart[]).arrayBuffer());
    const layout = layoutOf(encoded.customMetadata)!;
    expect(bytes.length).toBe(layout.byteLength);
    expect(layout.photo('a')).toBeUndefined();
    const slice = layout.photo('b')!;
    expect([slice.width, slice.height]).toEqual([4, 2]);
    expect(bytes.subarray(slice.offset, slice.offset + slice.length)).toEqual(photo.data);
    const d = layout.map('b.dissimilarity');
    expect(new Float32Array(bytes.slice(d.offset, d.offset + d.length).buffer)).toEqual(maps['b.dissimilarity']);
    expect(JSON.parse(new TextDecoder().decode(bytes.subarray(layout.record.offset, layout.record.offset + layout.record.length)))).toEqual(
      { hello: 'world' },
    );
    // Without photos the layout is the one results were stored with before.
    expect(layoutOf(encodeResult({ size, maps, faces, record: {} }).customMetadata)!.photo('b')).toBeUndefined();
    expect(() => encodeResult({ size, maps, faces, record: {}, photos: { a: { ...photo, width: 5 } } })).toThrow(/photo a has 24 bytes/);
  });
});

describe('Shared', () => {
  it('hands every waiter the value once the work settles, and its error if it fails', async () => {
    let finish!: (v: number) => void;
    const work = new Shared(new Promise<number>((resolve) => (finish = resolve)));
    const waiters = [work.wait(1), work.wait(5)];
    let settled = false;
    void Promise.all(waiters).then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    finish(42);
    expect(await Promise.all(waiters)).toEqual([42, 42]);
    const failing = new Shared(Promise.reject(new Error('load failed')));
    await expect(failing.wait(1)).rejects.toThrow('load failed');
  });

  it('leaves no unhandled rejection when nobody waits', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      new Shared(Promise.reject(new Error('nobody listens')));
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
