/**
 * @module store/retention
 * What a tenant's data is kept for, and its removal: a result (its object and the PNGs
 * rendered beside it) or an image (its cached bases and embedding) deleted on request, and the scheduled purge of everything under
 * `t/<tenant>/` that has outlived its kind's retention period (results, job inputs and
 * results, uploads, idempotency records; bases, embeddings), judged by each object's upload time against a given clock.
 */
import { tenantPrefix } from './keys.js';

/** Default retention per kind of object, in days (vars RESULT_RETENTION_DAYS, BASIS_RETENTION_DAYS override). */
export const RETENTION_DEFAULTS = { results: 30, bases: 90 } as const;

/** The kinds of tenant data, by the path segment after `t/<tenant>/`, and whose retention applies. */
const KIND_RETENTION: Record<string, keyof typeof RETENTION_DEFAULTS> = {
  results: 'results',
  jobs: 'results',
  uploads: 'results',
  idempotency: 'results',
  bases: 'bases',
  embeddings: 'bases',
};

export interface RetentionDays {
  results: number;
  bases: number;
}

const DAY_MS = 24 * 3600_000;

/**
 * Delete, page by page (R2 lists and deletes up to 1000 keys per call), the objects under
 * `prefix` that `doomed` picks (all by default); how many went.
 */
async function deleteListed(bucket: R2Bucket, prefix: string, doomed: (object: R2Object) => boolean = () => true): Promise<number> {
  let deleted = 0;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor, limit: 1000 });
    const keys = page.objects.filter(doomed).map((o) => o.key);
    if (keys.length) await bucket.delete(keys);
    deleted += keys.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return deleted;
}

/** Delete every object under a prefix; how many went. */
export const deletePrefix = (bucket: R2Bucket, prefix: string): Promise<number> => deleteListed(bucket, prefix);

/** Delete a stored result and its rendered files; false when there was none. */
export async function deleteResult(bucket: R2Bucket, tenant: string, resultId: string): Promise<boolean> {
  return (await deletePrefix(bucket, `${tenantPrefix(tenant)}results/${resultId}/`)) > 0;
}

/**
 * Forget an image: every cached basis (any model version, variant or precision) and
 * embedding stored under its id (the SHA-256 of its model input) for the tenant. Keys end
 * in the id, so the tenant's bases and embeddings are listed and matched; how many went.
 */
export async function deleteImage(bucket: R2Bucket, tenant: string, imageId: string): Promise<number> {
  const isImage = (o: R2Object) => o.key.slice(o.key.lastIndexOf('/') + 1).startsWith(`${imageId}.`);
  let deleted = 0;
  for (const area of ['bases', 'embeddings']) deleted += await deleteListed(bucket, `${tenantPrefix(tenant)}${area}/`, isImage);
  return deleted;
}

/** The retention (days) that applies to a data key, or undefined for keys outside tenant data. */
export function retentionOf(key: string, days: RetentionDays): number | undefined {
  const m = /^t\/[^/]+\/([^/]+)\//.exec(key);
  const kind = m ? KIND_RETENTION[m[1]!] : undefined;
  return kind ? days[kind] : undefined;
}

/**
 * Delete every tenant object older than its kind's retention at `now` (ms). A result's
 * rendered PNGs are newer than its result.bin and go with it when it expires.
 */
export async function purgeExpired(bucket: R2Bucket, now: number, days: RetentionDays): Promise<{ scanned: number; deleted: number }> {
  let scanned = 0;
  const expiredResults = new Set<string>();
  let deleted = await deleteListed(bucket, 't/', (object) => {
    scanned++;
    const retention = retentionOf(object.key, days);
    if (retention === undefined) return false;
    const resultDir = /^(t\/[^/]+\/results\/[^/]+\/)/.exec(object.key)?.[1];
    const expired = now - object.uploaded.getTime() > retention * DAY_MS;
    if (expired && resultDir && object.key.endsWith('/result.bin')) expiredResults.add(resultDir);
    return expired || (resultDir !== undefined && expiredResults.has(resultDir));
  });
  // Rendered files listed before their result.bin (keys sort a/… before result.bin).
  for (const dir of expiredResults) deleted += await deletePrefix(bucket, dir);
  return { scanned, deleted };
}
