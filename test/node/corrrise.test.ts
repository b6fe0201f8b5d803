/**
 * CorrRISE as the API serves it (engine/corrrise on the int8 model) against a direct loop:
 * each masked copy built pixel by pixel, embedded one at a time, and the Pearson
 * correlation per pixel computed in float64 from its textbook formula.
 */
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { distEngine } from '../../src/cli/dist-engine.js';
import type { Engine } from '../../src/engine/engine.js';
import { corrRiseMaps, explainCorrRise, occlusionEmbeddings } from '../../src/engine/corrrise.js';
import type { OcclusionCache } from '../../src/store/occlusion-cache.js';
import { corrRiseMasks } from '../../src/xfv/corrrise.js';
import { fillValues } from '../../src/xfv/faithfulness.js';
import { cosine } from '../../src/xfv/verification.js';
import { FACES_DIR, loadModelInput } from '../../eval/lib/faces.js';
import { describeWithFaces } from './helpers.js';

function pearson(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((s, v) => s + v, 0) / n;
  const my = ys.reduce((s, v) => s + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

describeWithFaces('CorrRISE', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await distEngine();
  });

  it('equals a direct loop over masks and pixels on a real pair (int8 model)', async () => {
    const size = 150;
    const pixels = size * size;
    const x = loadModelInput(join(FACES_DIR, 'bbt', 'amy', 'amy1.png'));
    const y = loadModelInput(join(FACES_DIR, 'bbt', 'amy', 'amy2.png'));
    const [, ey] = await engine.embed([x, y]);
    const options = { masks: 24, patches: 4, patchSize: 30, seed: 5 };
    const masks = corrRiseMasks(size, options);
    const fill = fillValues('gray', engine.manifest.input.mean, engine.manifest.input.scale);
    const maps = await corrRiseMaps((xs) => engine.embed(xs), x, ey!, masks, { size, fill, batch: 7 });

    const scores: number[] = [];
    for (const mask of masks) {
      const copy = new Float32Array(x);
      for (let c = 0; c < 3; c++) for (let p = 0; p < pixels; p++) if (mask[p] === 0) copy[c * pixels + p] = fill[c]!;
      const [e] = await engine.embed([copy]);
      scores.push(cosine(e!, ey!));
    }
    expect(new Set(scores.map((s) => s.toFixed(6))).size).toBeGreaterThan(10); // the masks do change the score
    let worst = 0;
    for (let p = 0; p < pixels; p++) {
      const r = pearson(
        masks.map((m) => m[p]!),
        scores,
      );
      worst = Math.max(worst, Math.abs(maps.raw[p]! - r));
      expect(maps.similarity[p]! + 0).toBe(Math.max(maps.raw[p]!, 0) + 0);
      expect(maps.dissimilarity[p]! + 0).toBe(Math.max(-maps.raw[p]!, 0) + 0);
    }
    expect(worst).toBeLessThan(1e-5);
    expect(Math.max(...maps.similarity)).toBeGreaterThan(0);
  });

  it('is seeded: the same pair gives the same maps, another seed other maps', async () => {
    const size = 150;
    const [x, y] = ['amy/amy1.png', 'raj/raj2.png'].map((p) => loadModelInput(join(FACES_DIR, 'bbt', p))) as [Float32Array, Float32Array];
    const embeddings = (await engine.embed([x, y])) as [Float32Array, Float32Array];
    const fill = fillValues('gray', engine.manifest.input.mean, engine.manifest.input.scale);
    const run = (seed: number) =>
      explainCorrRise(
        (xs) => engine.embed(xs),
        [
          { x, embedding: embeddings[0] },
          { x: y, embedding: embeddings[1] },
        ],
        {
          size,
          fill,
          options: { masks: 16, patches: 4, patchSize: 30, seed },
        },
      );
    const [one, again, other] = [await run(1), await run(1), await run(2)];
    expect(one.method).toBe('corrrise');
    expect(Array.from(again.a.maps.raw)).toEqual(Array.from(one.a.maps.raw));
    expect(Array.from(other.a.maps.raw)).not.toEqual(Array.from(one.a.maps.raw));
    expect(one.cosine).toBeCloseTo(cosine(embeddings[0], embeddings[1]), 6);
  });

  it("computes an image's occlusion embeddings in any shards with the same bytes, caches them, and gives a cached pair the same maps", async () => {
    const size = 150;
    const [x, y] = ['amy/amy1.png', 'raj/raj2.png'].map((p) => loadModelInput(join(FACES_DIR, 'bbt', p))) as [Float32Array, Float32Array];
    const embeddings = (await engine.embed([x, y])) as [Float32Array, Float32Array];
    const fill = fillValues('gray', engine.manifest.input.mean, engine.manifest.input.scale);
    const options = { masks: 20, patches: 4, patchSize: 30, seed: 3 };
    const request = { size, fill, options, batch: 8 };
    const masks = corrRiseMasks(size, options);
    const embed = (xs: Float32Array[]) => engine.embed(xs);
    const whole = await occlusionEmbeddings(embed, x, masks, request);
    expect(whole.length).toBe(20 * embeddings[0].length);
    // Shards that start and end inside batches: the rows are the same bytes.
    const shards = [
      [0, 5],
      [5, 13],
      [13, 20],
    ] as const;
    const parts = await Promise.all(shards.map(([from, to]) => occlusionEmbeddings(embed, x, masks, request, { from, to })));
    const joined = new Float32Array(whole.length);
    let at = 0;
    for (const part of parts) {
      joined.set(part, at);
      at += part.length;
    }
    expect(Buffer.from(joined.buffer).equals(Buffer.from(whole.buffer))).toBe(true);

    const store = new Map<string, Float32Array>();
    let computed = 0;
    const cache: OcclusionCache = {
      get: async (key, values) => (store.get(key)?.length === values ? store.get(key) : undefined),
      put: async (key, units) => void store.set(key, units),
    };
    const counting = (xs: Float32Array[]) => {
      computed += xs.length;
      return embed(xs);
    };
    const images = [
      { x, embedding: embeddings[0], cacheKey: 'a' },
      { x: y, embedding: embeddings[1], cacheKey: 'b' },
    ] as [Parameters<typeof explainCorrRise>[1][0], Parameters<typeof explainCorrRise>[1][1]];
    const fresh = await explainCorrRise(counting, images, request, { cache, store: true });
    expect([fresh.a.basis, fresh.b.basis, computed]).toEqual(['miss', 'miss', 40]);
    const again = await explainCorrRise(counting, images, request, { cache, store: true });
    expect([again.a.basis, again.b.basis, computed]).toEqual(['hit', 'hit', 40]);
    expect(Array.from(again.a.maps.raw)).toEqual(Array.from(fresh.a.maps.raw));
    expect(Array.from(again.b.maps.raw)).toEqual(Array.from(fresh.b.maps.raw));
    // The same maps as the uncached path (scores by cosine of each masked copy).
    const direct = await corrRiseMaps(embed, y, embeddings[0], masks, request);
    expect(Math.max(...direct.raw.map((v, p) => Math.abs(v - fresh.b.maps.raw[p]!)))).toBeLessThan(1e-6);
  });
});
