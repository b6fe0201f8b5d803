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

/** Delete every object under a prefix (R2 deletes up to 1000 keys per call); how many went. */
export async function deletePrefix(bucket: R2Bucket, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor, limit: 1000 });
    if (page.objects.length) await bucket.delete(page.objects.map((o) => o.key));
    deleted += page.objects.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return deleted;
}

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
  let deleted = 0;
  for (const area of ['bases', 'embeddings']) {
    let cursor: string | undefined;
    do {
      const page = await bucket.list({ prefix: `${tenantPrefix(tenant)}${area}/`, cursor, limit: 1000 });
      const mine = page.objects.map((o) => o.key).filter((key) => key.slice(key.lastIndexOf('/') + 1).startsWith(`${imageId}.`));
      if (mine.length) await bucket.delete(mine);
      deleted += mine.length;
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }
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
  let deleted = 0;
  let cursor: string | undefined;
  const expiredResults = new Set<string>();
  do {
    const page = await bucket.list({ prefix: 't/', cursor, limit: 1000 });
    const doomed: string[] = [];
    for (const object of page.objects) {
      scanned++;
      const retention = retentionOf(object.key, days);
      if (retention === undefined) continue;
      const resultDir = /^(t\/[^/]+\/results\/[^/]+\/)/.exec(object.key)?.[1];
      const expired = now - object.uploaded.getTime() > retention * DAY_MS;
      if (expired && resultDir && object.key.endsWith('/result.bin')) expiredResults.add(resultDir);
      if (expired || (resultDir && expiredResults.has(resultDir))) doomed.push(object.key);
    }
    if (doomed.length) await bucket.delete(doomed);
    deleted += doomed.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  // Rendered files listed before their result.bin (keys sort a/… before result.bin).
  for (const dir of expiredResults) deleted += await deletePrefix(bucket, dir);
  return { scanned, deleted };
}
