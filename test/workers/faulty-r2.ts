/**
 * A fault-injecting R2 binding for the workers tests: it wraps a real (miniflare) bucket
 * and, for a chosen share of calls drawn from a seeded generator, fails get/head/put/list/
 * delete, delays them, or hands out objects whose bytes stop half way (the stream errors,
 * arrayBuffer rejects). A failed put of a stream takes half of it first, as a connection
 * dropped mid-upload would. Counts of what it injected are kept in `injected`.
 */

import { prng } from '../../bench/lib/prng.js';

export interface Faults {
  /** Share (0…1) of calls of each kind that throw. */
  fail?: Partial<Record<'get' | 'head' | 'put' | 'list' | 'delete', number>>;
  /** Share of gets whose object body stops half way. */
  cutStreams?: number;
  /** Cut only gets whose options pass this (e.g. ranged reads of a basis's channels). */
  cutIf?: (options?: R2GetOptions) => boolean;
  /** Share of all calls delayed by `delayMs`. */
  delay?: number;
  delayMs?: number;
  /** Only keys matching this are touched (list calls always are). */
  only?: RegExp;
  seed?: number;
}

export type FaultyBucket = R2Bucket & { injected: Record<string, number> };

/** A stream of `bytes` that errors once half of them have been read. */
function cutStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  const half = Math.floor(bytes.length / 2);
  let sent = false;
  return new ReadableStream({
    type: 'bytes',
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(bytes.slice(0, half));
      } else controller.error(new Error('injected fault: connection reset half way'));
    },
  });
}

/** An object body whose bytes stop half way, with the real object's metadata. */
async function cutObject(object: R2ObjectBody): Promise<R2ObjectBody> {
  const bytes = new Uint8Array(await object.arrayBuffer());
  const fail = () => Promise.reject(new Error('injected fault: connection reset half way'));
  return {
    key: object.key,
    version: object.version,
    size: object.size,
    etag: object.etag,
    httpEtag: object.httpEtag,
    checksums: object.checksums,
    uploaded: object.uploaded,
    httpMetadata: object.httpMetadata,
    customMetadata: object.customMetadata,
    range: object.range,
    storageClass: object.storageClass,
    writeHttpMetadata: (headers: Headers) => object.writeHttpMetadata(headers),
    body: cutStream(bytes),
    bodyUsed: false,
    arrayBuffer: fail,
    bytes: fail,
    text: fail,
    json: fail,
    blob: fail,
  } as unknown as R2ObjectBody;
}

export function faultyBucket(bucket: R2Bucket, faults: Faults): FaultyBucket {
  const random = prng(faults.seed ?? 1);
  const injected: Record<string, number> = {};
  const count = (what: string) => (injected[what] = (injected[what] ?? 0) + 1);
  const before = async (op: keyof NonNullable<Faults['fail']>, key?: string) => {
    if (key !== undefined && faults.only && !faults.only.test(key)) return false;
    if (faults.delay && random() < faults.delay) {
      count('delay');
      await new Promise((r) => setTimeout(r, faults.delayMs ?? 50));
    }
    const share = faults.fail?.[op] ?? 0;
    return share > 0 && random() < share;
  };
  const failure = (op: string) => {
    count(op);
    return new Error(`injected fault: ${op} failed`);
  };
  return {
    injected,
    async head(key) {
      if (await before('head', key)) throw failure('head');
      return bucket.head(key);
    },
    get: (async (key: string, options?: R2GetOptions) => {
      if (await before('get', key)) throw failure('get');
      const object = await bucket.get(key, options);
      if (
        object &&
        'body' in object &&
        faults.cutStreams &&
        !(faults.only && !faults.only.test(key)) &&
        (faults.cutIf?.(options) ?? true) &&
        random() < faults.cutStreams
      ) {
        count('cut');
        return cutObject(object);
      }
      return object;
    }) as R2Bucket['get'],
    put: (async (key: string, value: Parameters<R2Bucket['put']>[1], options?: R2PutOptions) => {
      if (await before('put', key)) {
        if (value instanceof ReadableStream) {
          // Take half of the upload, then drop the connection.
          const reader = value.getReader();
          let taken = 0;
          const want = 1 + (Number((options as { length?: number } | undefined)?.length) || 1 << 20) / 2;
          while (taken < want) {
            const { done, value: chunk } = await reader.read();
            if (done) break;
            taken += (chunk as Uint8Array).length;
          }
          await reader.cancel(new Error('injected fault: upload dropped')).catch(() => undefined);
        }
        throw failure('put');
      }
      return bucket.put(key, value, options);
    }) as R2Bucket['put'],
    async list(options) {
      if (await before('list')) throw failure('list');
      return bucket.list(options);
    },
    async delete(keys) {
      if (await before('delete', typeof keys === 'string' ? keys : keys[0])) throw failure('delete');
      return bucket.delete(keys);
    },
    createMultipartUpload: (key, options) => bucket.createMultipartUpload(key, options),
    resumeMultipartUpload: (key, uploadId) => bucket.resumeMultipartUpload(key, uploadId),
  };
}
