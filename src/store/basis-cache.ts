/**
 * @module store/basis-cache
 * Per-image FGGB bases in R2 under a content address
 *   t/<tenant>/bases/<model>-<version>/<plain|centred>/<sha256 of the input tensor>.<dtype>
 * Reads are ranged and streamed: the header and embedding first (a small ranged GET),
 * then the channels as a stream, one block of channels in memory at a time.
 */
import { BASIS_HEADER_BYTES, type BasisCache, BasisReader, type BasisDtype, basisByteLength, decodeHeader } from './basis.js';
import { tenantPrefix } from './keys.js';

export function basisKey(tenant: string, model: { id: string; version: string }, centred: boolean, inputSha: string, dtype: BasisDtype): string {
  return `${tenantPrefix(tenant)}bases/${model.id}-${model.version}/${centred ? 'centred' : 'plain'}/${inputSha}.${dtype}`;
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
      if (!object) throw new Error(`basis ${key} disappeared while reading`);
      await new BasisReader(object.body).blocks(header, onBlock);
    },
    async put(key, parts, byteLength) {
      const body = new Blob(parts as BlobPart[]);
      if (body.size !== byteLength) throw new Error(`basis ${key}: ${body.size} bytes, expected ${byteLength}`);
      await bucket.put(key, body, { httpMetadata: { contentType: 'application/x-xfv-basis' } });
    },
  };
}
