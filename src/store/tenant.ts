/**
 * @module store/tenant
 * Everything one tenant keeps for one model, in one object: basis cache (with its key
 * scheme), CorrRISE's occlusion embeddings, embedding cache and result store, all under `t/<tenant>/` in the data bucket.
 */
import type { BasisCache, BasisDtype } from './basis.js';
import { basisKey, r2BasisCache } from './basis-cache.js';
import { type EmbeddingCache, r2EmbeddingCache } from './embedding-cache.js';
import { type OcclusionCache, r2OcclusionCache } from './occlusion-cache.js';
import { type ResultStore, r2ResultStore } from './results.js';

export interface TenantStores {
  tenant: string;
  bases: BasisCache;
  /** CorrRISE's per-image occlusion embeddings, under basisKey(their mask set's variant, sha, 'f32'). */
  occlusions: OcclusionCache;
  /** The content address of an input's basis in this tenant's cache. */
  /** Where a basis lives; `variant` names the kind of basis (engine/explain-pair basisVariant). */
  basisKey(variant: string, inputSha: string, dtype: BasisDtype): string;
  embeddings: EmbeddingCache;
  results: ResultStore;
}

export function r2TenantStores(
  bucket: R2Bucket,
  tenant: string,
  model: { id: string; version: string },
  embeddingSize: number,
): TenantStores {
  return {
    tenant,
    bases: r2BasisCache(bucket, embeddingSize),
    occlusions: r2OcclusionCache(bucket),
    basisKey: (variant, inputSha, dtype) => basisKey(tenant, model, variant, inputSha, dtype),
    embeddings: r2EmbeddingCache(bucket, tenant, model, embeddingSize),
    results: r2ResultStore(bucket, tenant),
  };
}
