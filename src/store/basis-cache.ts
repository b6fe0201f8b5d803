/**
 * @module store/basis-cache
 * Per-image FGGB bases in R2 under a content address
 *   t/<tenant>/bases/<model>-<version>/<plain|centred>/<sha256 of the input tensor>.<dtype>
 * Reads are ranged and streamed: the header and embedding first (a small ranged GET),
 * then the channels as a stream, one block of channels in memory at a time. Writes stream
 * too (FixedLengthStream), chunk by chunk as the gradient graph produces them.
 */
import { BASIS_HEADER_BYTES, type BasisCache, BasisReader, type BasisDtype, basisByteLength, decodeHeader } from './basis.js';
import { tenantPrefix } from './keys.js';
import { StorageUnavailableError } from './storage-errors.js';

export function basisKey(
  tenant: string,
  model: { id: string; version: string },
  variant: string,
  inputSha: string,
  dtype: BasisDtype,
): string {
  return `${tenantPrefix(tenant)}bases/${model.id}-${model.version}/${variant}/${inputSha}.${dtype}`;
}

export function r2BasisCache(bucket: R2Bucket, n: number): BasisCache {
  const prelude = BASIS_HEADER_BYTES + 4 * n;
  return {
    async head(key) {
      const object = await bucket.get(key, { range: { offset: 0, length: prelude } });
      if (!object) return undefined;
      const bytes = new Uint8Array(await object.arrayBuffer());
      const header = decodeHeader(bytes);
      // A partial or foreign object is treated as absent and recomputed (then overwritten).
      if (header.n !== n || object.size !== basisByteLength(header)) return undefined;
      return { header, embedding: new Float32Array(bytes.slice(BASIS_HEADER_BYTES, prelude).buffer) };
    },
    async blocks(key, header, onBlock) {
      const object = await bucket.get(key, { range: { offset: prelude } });
      if (!object) throw new StorageUnavailableError(`reading basis ${key}`, new Error('the object disappeared'));
      // A stream that fails or ends early is storage failing; an error of the caller's is its own.
      let callerError: unknown;
      try {
        await new BasisReader(object.body).blocks(header, (k0, block, count) => {
          try {
            onBlock(k0, block, count);
          } catch (e) {
            callerError = e;
            throw e;
          }
        });
      } catch (e) {
        if (callerError !== undefined && e === callerError) throw e;
        throw new StorageUnavailableError(`reading basis ${key}`, e);
      }
    },
    writer(key, byteLength) {
      // Streamed into R2 as the chunks are computed: the whole basis is never in memory.
      // A short or aborted stream fails the put, so no partial object appears.
      const { readable, writable } = new FixedLengthStream(byteLength);
      const stored = bucket.put(key, readable, { httpMetadata: { contentType: 'application/x-xfv-basis' } });
      const sink = writable.getWriter();
      sink.closed.catch(() => undefined);
      // A put that fails before taking the whole stream must not leave writes waiting on it.
      stored.catch((e) => sink.abort(e).catch(() => undefined));
      return {
        write: (bytes) => sink.write(bytes),
        async close() {
          await sink.close();
          await stored;
        },
        async abort(reason) {
          await sink.abort(reason).catch(() => undefined);
        },
      };
    },
  };
}
