/**
 * The CorrRISE builder objects (worker/occlusion-builder) in workerd with the real R2 and
 * Durable Objects: a sharded build stores the same bytes as a build in one object and
 * leaves no parts behind, concurrent requests for one image build it once, a failed shard
 * is retried, and an existing object is not computed again.
 */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { OcclusionBuild, OcclusionBuilder } from '../../src/worker/occlusion-builder.js';
import { occlusionBuilder } from '../../src/worker/occlusion-builds.js';
import { seedModels } from './fixtures.js';

const size = 150;
// A deterministic model input (any input gives rows; a face is not needed for the bytes).
const x = Float32Array.from({ length: 3 * size * size }, (_, i) => Math.sin(i * 0.37) * 0.8);
const build = (key: string, shards: number): OcclusionBuild => ({
  key,
  x,
  size,
  fill: [0, 0, 0],
  options: { masks: 40, patches: 4, patchSize: 30, seed: 17 },
  embeddingSize: 128,
  shards,
});
const bytesOf = async (key: string) => new Uint8Array(await (await env.DATA.get(key))!.arrayBuffer());

describe('OcclusionBuilder', () => {
  beforeAll(seedModels);

  it('stores the same bytes sharded as in one object, and removes the parts', async () => {
    const one = await occlusionBuilder(env, 'occ/one.f32').build(build('occ/one.f32', 1));
    const sharded = await occlusionBuilder(env, 'occ/sharded.f32').build(build('occ/sharded.f32', 8));
    expect([one.computed, one.shards, sharded.computed, sharded.shards, sharded.retries]).toEqual([true, 1, true, 3, 0]);
    const [a, b] = [await bytesOf('occ/one.f32'), await bytesOf('occ/sharded.f32')];
    expect(a.length).toBe(4 * 40 * 128);
    expect(b).toEqual(a);
    expect(new Float32Array(a.buffer).some((v) => v !== 0)).toBe(true);
    expect((await env.DATA.list({ prefix: 'occ/sharded.f32.part' })).objects).toEqual([]);
    // Built already: found, not computed.
    expect((await occlusionBuilder(env, 'occ/one.f32').build(build('occ/one.f32', 1))).computed).toBe(false);
  });

  it('builds an image once for concurrent requests', async () => {
    const key = 'occ/concurrent.f32';
    const stub = occlusionBuilder(env, key);
    const reports = await Promise.all([stub.build(build(key, 2)), stub.build(build(key, 2)), stub.build(build(key, 2))]);
    expect(reports.map((r) => r.computed)).toEqual([true, true, true]);
    const status = await stub.status();
    expect(status).toEqual({ building: false, buildsStarted: 1, rowsDone: 40, rowsNeeded: 40 });
    expect(await bytesOf(key)).toEqual(await bytesOf('occ/one.f32'));
  });

  it('retries a failed shard and still stores the same bytes', async () => {
    const key = 'occ/retried.f32';
    // Shard 1 of 3 fails its first two attempts.
    const shard = env.OCCLUSION_BUILDER.get(env.OCCLUSION_BUILDER.idFromName(`${key}#1/3`));
    await runInDurableObject(shard, (instance: OcclusionBuilder) => {
      instance.failShardAttempts = 2;
    });
    const report = await occlusionBuilder(env, key).build(build(key, 3));
    expect([report.computed, report.shards, report.retries]).toEqual([true, 3, 2]);
    expect(await bytesOf(key)).toEqual(await bytesOf('occ/one.f32'));
  });

  it('fails the build, and keeps nothing, when a shard fails every attempt', async () => {
    const key = 'occ/failed.f32';
    const shard = env.OCCLUSION_BUILDER.get(env.OCCLUSION_BUILDER.idFromName(`${key}#0/3`));
    await runInDurableObject(shard, (instance: OcclusionBuilder) => {
      instance.failShardAttempts = 3;
    });
    const failed = await occlusionBuilder(env, key)
      .build(build(key, 3))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(String(failed)).toMatch(/failed on purpose/);
    expect(await env.DATA.head(key)).toBeNull();
    expect((await env.DATA.list({ prefix: `${key}.part` })).objects).toEqual([]);
    // The next request builds it.
    expect((await occlusionBuilder(env, key).build(build(key, 3))).computed).toBe(true);
    expect(await bytesOf(key)).toEqual(await bytesOf('occ/one.f32'));
  });
});
