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

export function r2EmbeddingCache(bucket: R2Bucket, tenant: string, model: { id: string; version: string }): EmbeddingCache {
  const key = (sha: string) => `${tenantPrefix(tenant)}embeddings/${model.id}-${model.version}/${sha}.f32`;
  return {
    async get(sha) {
      const object = await bucket.get(key(sha));
      return object ? new Float32Array(await object.arrayBuffer()) : undefined;
    },
    async put(sha, embedding) {
      await bucket.put(key(sha), embedding.slice());
    },
  };
}
