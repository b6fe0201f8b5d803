/**
 * @module store/guarded-bucket
 * The data bucket as every request sees it: each R2 call, and each read of an object's
 * bytes through arrayBuffer/text/json/bytes, turns a storage failure into
 * StorageUnavailableError (503 with Retry-After, api/errors). Streams (`body`) are handed out
 * as they are: their readers (store/basis-cache) classify their own failures.
 */
import { StorageUnavailableError, storageCall } from './storage-errors.js';

function guardBody(object: R2ObjectBody, key: string): R2ObjectBody {
  const read =
    <T>(name: string, f: () => Promise<T>) =>
    () =>
      storageCall(`reading ${key} (${name})`, f);
  return new Proxy(object, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop === 'arrayBuffer' || prop === 'text' || prop === 'json' || prop === 'bytes' || prop === 'blob')
        return read(String(prop), () => value.call(target));
      return value.bind(target);
    },
  });
}

const isBody = (o: R2Object | R2ObjectBody | null): o is R2ObjectBody => o !== null && 'body' in o;

/** `bucket` with every failure of its calls reported as StorageUnavailableError. */
export function guardBucket(bucket: R2Bucket): R2Bucket {
  return {
    head: (key) => storageCall(`head ${key}`, () => bucket.head(key)),
    get: ((key: string, options?: R2GetOptions) =>
      storageCall(`get ${key}`, async () => {
        const object = await bucket.get(key, options);
        return isBody(object) ? guardBody(object, key) : object;
      })) as R2Bucket['get'],
    put: ((key: string, value: Parameters<R2Bucket['put']>[1], options?: R2PutOptions) =>
      storageCall(`put ${key}`, () => bucket.put(key, value, options))) as R2Bucket['put'],
    list: (options) => storageCall('list', () => bucket.list(options)),
    delete: (keys) => storageCall('delete', () => bucket.delete(keys)),
    createMultipartUpload: (key, options) => storageCall(`multipart ${key}`, () => bucket.createMultipartUpload(key, options)),
    resumeMultipartUpload: (key, uploadId) => bucket.resumeMultipartUpload(key, uploadId),
  };
}

export { StorageUnavailableError };
