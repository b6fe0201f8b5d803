/**
 * @module store/occlusion-cache
 * Each image's CorrRISE occlusion embeddings (engine/corrrise: one unit float32 row per
 * mask, little-endian, nothing else), kept beside the FGGB bases under
 * `t/<tenant>/bases/<model>-<version>/corrrise-<mask set>/<sha>.f32` (store/basis-cache
 * basisKey): the same retention, and forgotten with the image (DELETE /v1/images/{id}).
 */

export interface OcclusionCache {
  /** The rows stored under `key`, or undefined when absent or not `values` floats long (a foreign or cut object). */
  get(key: string, values: number): Promise<Float32Array | undefined>;
  put(key: string, units: Float32Array): Promise<void>;
}

export function r2OcclusionCache(bucket: R2Bucket): OcclusionCache {
  return {
    async get(key, values) {
      const object = await bucket.get(key);
      if (!object) return undefined;
      const bytes = await object.arrayBuffer();
      return bytes.byteLength === 4 * values ? new Float32Array(bytes) : undefined;
    },
    async put(key, units) {
      await bucket.put(key, units.slice());
    },
  };
}
