/**
 * @module store/basis
 * The stored per-image FGGB basis: a 64-byte header, the raw embedding F (N float32), then
 * N channel maps Ĝ_k (H×W each, channel-major) in float32 or float16, little-endian.
 *
 *   0  "XFVB"   4  version u8   5  dtype u8 (1 = f32, 2 = f16)   6  centred u8
 *   8  N u32    12 H u32        16 W u32     20..63 model id (UTF-8, zero-padded)
 *
 * `BasisReader` consumes the object as a byte stream and hands out one channel at a time,
 * so a combination never holds the whole basis.
 */
import { decodeHalf, encodeHalf } from './float16.js';

export const BASIS_MAGIC = 'XFVB';
export const BASIS_HEADER_BYTES = 64;
export type BasisDtype = 'f32' | 'f16';

export interface BasisHeader {
  dtype: BasisDtype;
  centred: boolean;
  n: number;
  height: number;
  width: number;
  modelId: string;
}

/** Where bases are kept (R2 in the Worker, disk in the evaluation, nothing in the CLI). */
export interface BasisCache {
  /** Header and raw embedding of a stored basis, or undefined when absent. */
  head(key: string): Promise<{ header: BasisHeader; embedding: Float32Array } | undefined>;
  /** Stream the stored channels in order. */
  channels(key: string, header: BasisHeader, onChannel: (k: number, map: Float32Array) => void): Promise<void>;
  /** Store a basis object given as its parts in order. */
  put(key: string, parts: Uint8Array[], byteLength: number): Promise<void>;
}

export const bytesPerValue = (dtype: BasisDtype) => (dtype === 'f32' ? 4 : 2);

export function basisByteLength(h: BasisHeader): number {
  return BASIS_HEADER_BYTES + 4 * h.n + h.n * h.height * h.width * bytesPerValue(h.dtype);
}

export function encodeHeader(h: BasisHeader): Uint8Array {
  const out = new Uint8Array(BASIS_HEADER_BYTES);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(BASIS_MAGIC), 0);
  out[4] = 1;
  out[5] = h.dtype === 'f32' ? 1 : 2;
  out[6] = h.centred ? 1 : 0;
  view.setUint32(8, h.n, true);
  view.setUint32(12, h.height, true);
  view.setUint32(16, h.width, true);
  out.set(new TextEncoder().encode(h.modelId).subarray(0, 44), 20);
  return out;
}

export function decodeHeader(bytes: Uint8Array): BasisHeader {
  if (bytes.length < BASIS_HEADER_BYTES || new TextDecoder().decode(bytes.subarray(0, 4)) !== BASIS_MAGIC || bytes[4] !== 1) {
    throw new Error('not an xfv basis object (bad magic or version)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, BASIS_HEADER_BYTES);
  const idBytes = bytes.subarray(20, 64);
  const end = idBytes.indexOf(0);
  return {
    dtype: bytes[5] === 1 ? 'f32' : 'f16',
    centred: bytes[6] === 1,
    n: view.getUint32(8, true),
    height: view.getUint32(12, true),
    width: view.getUint32(16, true),
    modelId: new TextDecoder().decode(end >= 0 ? idBytes.subarray(0, end) : idBytes),
  };
}

/** Little-endian bytes of channel maps in the stored dtype. */
export function encodeChannels(maps: Float32Array, dtype: BasisDtype): Uint8Array {
  if (dtype === 'f32') return new Uint8Array(maps.buffer.slice(maps.byteOffset, maps.byteOffset + maps.byteLength));
  const half = encodeHalf(maps);
  return new Uint8Array(half.buffer);
}

export function encodeEmbedding(f: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(f).buffer);
}

/**
 * Reads a basis object from a byte stream: header, embedding, then channels in order,
 * copying only one channel's bytes at a time.
 */
export class BasisReader {
  private chunks: Uint8Array[] = [];
  private available = 0;
  private reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.reader = stream.getReader();
  }

  /** The next `count` bytes of the stream, copied once out of the received chunks. */
  private async take(count: number): Promise<Uint8Array> {
    while (this.available < count) {
      const { value, done } = await this.reader.read();
      if (done) throw new Error(`basis object is truncated: needed ${count} bytes, ${this.available} left`);
      this.chunks.push(value);
      this.available += value.length;
    }
    const out = new Uint8Array(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.chunks[0]!;
      const n = Math.min(chunk.length, count - filled);
      out.set(chunk.subarray(0, n), filled);
      filled += n;
      if (n === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(n);
    }
    this.available -= count;
    return out;
  }

  async header(): Promise<BasisHeader> {
    return decodeHeader(await this.take(BASIS_HEADER_BYTES));
  }

  async embedding(n: number): Promise<Float32Array> {
    return new Float32Array((await this.take(4 * n)).buffer);
  }

  /** Calls `onChannel(k, map)` for every channel; `map` is reused between calls. */
  async channels(h: BasisHeader, onChannel: (k: number, map: Float32Array) => void): Promise<void> {
    const pixels = h.height * h.width;
    const map = new Float32Array(pixels);
    for (let k = 0; k < h.n; k++) {
      const bytes = await this.take(pixels * bytesPerValue(h.dtype));
      if (h.dtype === 'f32') map.set(new Float32Array(bytes.buffer, 0, pixels));
      else decodeHalf(new Uint16Array(bytes.buffer, 0, pixels), map);
      onChannel(k, map);
    }
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => undefined);
  }
}

/**
 * A BasisCache over any whole-object byte store (a Map, files on disk): header and
 * embedding from the stored bytes, channels streamed through BasisReader.
 */
export function bytesBasisCache(load: (key: string) => Uint8Array | undefined, save: (key: string, bytes: Uint8Array) => void): BasisCache {
  return {
    async head(key) {
      const bytes = load(key);
      if (!bytes) return undefined;
      const header = decodeHeader(bytes);
      return { header, embedding: new Float32Array(bytes.slice(BASIS_HEADER_BYTES, BASIS_HEADER_BYTES + 4 * header.n).buffer) };
    },
    async channels(key, header, onChannel) {
      const bytes = load(key);
      if (!bytes) throw new Error(`basis ${key} disappeared while reading`);
      await new BasisReader(new Blob([bytes.slice(BASIS_HEADER_BYTES + 4 * header.n)]).stream()).channels(header, onChannel);
    },
    async put(key, parts, byteLength) {
      const bytes = new Uint8Array(byteLength);
      let offset = 0;
      for (const part of parts) {
        bytes.set(part, offset);
        offset += part.length;
      }
      save(key, bytes);
    },
  };
}
