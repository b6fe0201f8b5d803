/**
 * @module worker/occlusion-builder
 * `OcclusionBuilder`, the Durable Object that builds one image's CorrRISE occlusion
 * embeddings (engine/corrrise) into the data bucket, named by the object's key (tenant,
 * model, mask set, image hash). Requests for the same new image meet here: the first
 * starts the build, the others wait for it (single flight), and any later one finds the
 * object in R2. The rows are split into `shards` ranges (xfv/corrrise shardRanges), each
 * computed by an object of its own (`<key>#<i>/<shards>`) into a part object; the parts
 * are joined in order into the same bytes as a build in one isolate, and removed. A shard
 * that fails is asked again (SHARD_ATTEMPTS in all). Progress (rows done of rows needed)
 * is readable while it runs. Model work in one isolate runs one shard at a time, so a
 * shared isolate holds one batch of masked copies, not one per object.
 */
import { DurableObject } from 'cloudflare:workers';
import { CORRRISE_BATCH, occlusionEmbeddings } from '../engine/corrrise.js';
import { Gate } from '../engine/gate.js';
import { loadOrt } from '../engine/ort-workerd.js';
import { Shared } from '../engine/shared-wait.js';
import { corrRiseMasks, shardRanges } from '../xfv/corrrise.js';
import type { OcclusionBuildRequest } from '../engine/explain-images.js';
import { workerEngine } from './engine.js';

export const SHARD_ATTEMPTS = 3;

/** What to build (engine/explain-images OcclusionBuildRequest: the key is the builder's name), over how many shards. */
export interface OcclusionBuild extends OcclusionBuildRequest {
  shards: number;
}

export interface BuildReport {
  /** False when the object was already in R2 (nothing computed). */
  computed: boolean;
  rows: number;
  shards: number;
  /** Shard attempts that failed and were retried. */
  retries: number;
  ms: number;
}

export interface BuildProgress {
  building: boolean;
  /** Builds this object started (computed or found in R2) since it was created. */
  buildsStarted: number;
  rowsDone: number;
  rowsNeeded: number;
}

const partKey = (key: string, shard: number, shards: number) => `${key}.part-${shard}-of-${shards}`;
const shardName = (key: string, shard: number, shards: number) => `${key}#${shard}/${shards}`;

// Model work of all builder objects in this isolate, one shard at a time.
const modelWork = new Gate('occlusion', 1, Number.POSITIVE_INFINITY, { maxHoldMs: 120_000 });

export class OcclusionBuilder extends DurableObject<Env> {
  private current: Shared<BuildReport> | undefined;
  private readonly progress: BuildProgress = { building: false, buildsStarted: 0, rowsDone: 0, rowsNeeded: 0 };
  /** Tests: attempts of this object's shard work that fail on purpose before one succeeds. */
  failShardAttempts = 0;

  /** Build the object unless it exists; concurrent calls share one build. */
  async build(request: OcclusionBuild): Promise<BuildReport> {
    if (!this.current) {
      this.progress.buildsStarted++;
      const build = new Shared(this.run(request));
      this.current = build;
      build.promise
        .catch(() => undefined)
        .finally(() => {
          if (this.current === build) this.current = undefined;
        });
    }
    return this.current.wait();
  }

  async status(): Promise<BuildProgress> {
    return { ...this.progress };
  }

  /** One shard: rows from … to−1 into their part object. */
  async rows(request: OcclusionBuild, shard: { from: number; to: number; part: string }): Promise<void> {
    if (this.failShardAttempts > 0) {
      this.failShardAttempts--;
      throw new Error(`shard ${shard.part} failed on purpose (test)`);
    }
    const units = await this.compute(request, shard);
    await this.env.DATA.put(shard.part, units);
  }

  private async compute(request: OcclusionBuild, range: { from: number; to: number }, onRows?: (rows: number) => void) {
    const release = await modelWork.acquire();
    try {
      const engine = await workerEngine(this.env, loadOrt);
      const masks = corrRiseMasks(request.size, request.options);
      return await occlusionEmbeddings((xs) => engine.embed(xs), request.x, masks, request, { ...range, onRows });
    } finally {
      release();
    }
  }

  /**
   * Every shard into its part object, each asked up to SHARD_ATTEMPTS times. All shards
   * finish (or give up) before this settles, so a failed build's cleanup runs after the
   * last part is written.
   */
  private async runShards(request: OcclusionBuild, ranges: { from: number; to: number }[], parts: string[], retried: () => void) {
    const settled = await Promise.allSettled(
      ranges.map(async (range, i) => {
        const stub = this.env.OCCLUSION_BUILDER.get(this.env.OCCLUSION_BUILDER.idFromName(shardName(request.key, i, ranges.length)));
        for (let attempt = 1; ; attempt++) {
          try {
            // A plain promise (an RPC promise rejected here would also count as unhandled).
            await Promise.resolve(stub.rows(request, { ...range, part: parts[i]! }));
            break;
          } catch (e) {
            if (attempt >= SHARD_ATTEMPTS) throw e;
            retried();
          }
        }
        this.progress.rowsDone += range.to - range.from;
      }),
    );
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async run(request: OcclusionBuild): Promise<BuildReport> {
    const t0 = Date.now();
    const rows = request.options.masks;
    const bytes = 4 * rows * request.embeddingSize;
    const existing = await this.env.DATA.head(request.key);
    if (existing?.size === bytes) return { computed: false, rows, shards: 0, retries: 0, ms: Date.now() - t0 };
    Object.assign(this.progress, { building: true, rowsDone: 0, rowsNeeded: rows });
    const ranges = shardRanges(rows, request.shards, CORRRISE_BATCH);
    let retries = 0;
    try {
      if (ranges.length === 1) {
        const units = await this.compute(request, ranges[0]!, (n) => {
          this.progress.rowsDone += n;
        });
        await this.env.DATA.put(request.key, units);
      } else {
        const parts = ranges.map((_, i) => partKey(request.key, i, ranges.length));
        await this.runShards(request, ranges, parts, () => retries++).catch(async (e: unknown) => {
          // The parts of shards that succeeded go too: nothing is kept from a failed build.
          await this.env.DATA.delete(parts).catch(() => undefined);
          throw e;
        });
        const joined = new Uint8Array(bytes);
        let at = 0;
        for (const part of parts) {
          const object = await this.env.DATA.get(part);
          if (!object) throw new Error(`occlusion part ${part} is missing`);
          const chunk = new Uint8Array(await object.arrayBuffer());
          joined.set(chunk, at);
          at += chunk.length;
        }
        if (at !== bytes) throw new Error(`occlusion parts of ${request.key} hold ${at} bytes, expected ${bytes}`);
        await this.env.DATA.put(request.key, joined);
        await this.env.DATA.delete(parts);
      }
    } finally {
      this.progress.building = false;
    }
    return { computed: true, rows, shards: ranges.length, retries, ms: Date.now() - t0 };
  }
}
