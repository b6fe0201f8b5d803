/**
 * @module store/embedding-cache
 * Raw int8-model embeddings by input hash (t/<tenant>/embeddings/<model>-<version>/<sha>.f32),
 * so an explanation of two already-seen images runs no inference at all.
 */
import { tenantPrefix } from './keys.js';

/** Stored int8 embeddings by input hash (explain with store: true only). */
export interface EmbeddingCache {
  get(sha: string): Promise<Float32Array | undefined>;
  put(sha: string, embedding: Float32Array): Promise<void>;
}

export function r2EmbeddingCache(bucket: R2Bucket, tenant: string, model: { id: string; version: string }, size: number): EmbeddingCache {
  const key = (sha: string) => `${tenantPrefix(tenant)}embeddings/${model.id}-${model.version}/${sha}.f32`;
  return {
    async get(sha) {
      const object = await bucket.get(key(sha));
      if (!object) return undefined;
      const bytes = await object.arrayBuffer();
      // A foreign or cut object is not trusted: the embedding is computed again and rewritten.
      return bytes.byteLength === 4 * size ? new Float32Array(bytes) : undefined;
    },
    async put(sha, embedding) {
      // Best effort: a failed write only leaves the cache without it (the next request stores it).
      await bucket.put(key(sha), embedding.slice()).catch(() => undefined);
    },
  };
}
