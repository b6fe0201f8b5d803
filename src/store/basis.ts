/**
 * @module store/basis
 * The stored per-image FGGB basis: a 64-byte header, the raw embedding F (N float32), then
 * N channel maps Ĝ_k (H×W each, channel-major) in float32 or float16, little-endian.
 *
 *   0  "XFVB"   4  version u8   5  dtype u8 (1 = f32, 2 = f16)   6  centred u8
 *   8  N u32    12 H u32        16 W u32     20..63 model id (UTF-8, zero-padded)
 *
 * `BasisReader` consumes the object as a byte stream and hands out blocks of
 * BASIS_READ_CHANNELS channels (float16 as raw codes with their lookup table), so a
 * combination never holds the whole basis.
 */
import type { BasisBlock } from '../xfv/fggb.js';
import { releaseBuffer } from '../release.js';
import { HALF_TABLE } from './float16.js';

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
  /** Stream the stored channels in order, in blocks of BASIS_READ_CHANNELS. */
  blocks(key: string, header: BasisHeader, onBlock: BlockCallback): Promise<void>;
  /** Start storing a basis object of `byteLength` bytes, written in order as it is computed. */
  writer(key: string, byteLength: number): BasisWriter;
}

/** An object being stored: nothing is visible under the key unless `close` succeeds. */
export interface BasisWriter {
  /** The caller may release `bytes` once the promise resolves (they are copied or sent). */
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(reason: unknown): Promise<void>;
}

/** Called with channels k0 … k0+count−1; `block` is reused between calls. */
export type BlockCallback = (k0: number, block: BasisBlock, count: number) => void;

/** Channels per read: a multiple of 4 (the accumulator's grouping), 720 KB at float16. */
export const BASIS_READ_CHANNELS = 16;

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

export function encodeEmbedding(f: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(f).buffer);
}

/**
 * Reads a basis object from a byte stream: header, embedding, then channels in blocks.
 * Byte streams (R2 bodies, Blob streams) are read with a BYOB reader straight into one
 * reused block buffer (workerd's `readAtLeast` when present: R2 bodies otherwise arrive in
 * 4 KB chunks, which costs 4× the read time); other streams fall back to copying chunks.
 */
export class BasisReader {
  private chunks: Uint8Array[] = [];
  private available = 0;
  private byob: ReadableStreamBYOBReader | undefined;
  private reader: ReadableStreamDefaultReader<Uint8Array> | undefined;

  constructor(stream: ReadableStream<Uint8Array>) {
    try {
      this.byob = stream.getReader({ mode: 'byob' });
    } catch {
      this.reader = stream.getReader();
    }
  }

  /** Fill `into` completely from the stream; returns the (transferred) filled view. */
  private async fill(into: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
    const count = into.length;
    if (this.byob) {
      let buffer = into.buffer;
      let filled = 0;
      const reader = this.byob as ReadableStreamBYOBReader & {
        readAtLeast?: (min: number, view: Uint8Array<ArrayBuffer>) => Promise<ReadableStreamReadResult<Uint8Array<ArrayBuffer>>>;
      };
      while (filled < count) {
        const view = new Uint8Array(buffer, into.byteOffset + filled, count - filled);
        const { value, done } = reader.readAtLeast ? await reader.readAtLeast(view.length, view) : await reader.read(view);
        if (value) {
          buffer = value.buffer;
          filled += value.length;
        }
        if (done && filled < count) throw new Error(`basis object is truncated: needed ${count} bytes, got ${filled}`);
      }
      return new Uint8Array(buffer, into.byteOffset, count);
    }
    while (this.available < count) {
      const { value, done } = await this.reader!.read();
      if (done) throw new Error(`basis object is truncated: needed ${count} bytes, ${this.available} left`);
      this.chunks.push(value);
      this.available += value.length;
    }
    let filled = 0;
    while (filled < count) {
      const chunk = this.chunks[0]!;
      const n = Math.min(chunk.length, count - filled);
      into.set(chunk.subarray(0, n), filled);
      filled += n;
      if (n === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(n);
    }
    this.available -= count;
    return into;
  }

  async header(): Promise<BasisHeader> {
    return decodeHeader(await this.fill(new Uint8Array(BASIS_HEADER_BYTES)));
  }

  async embedding(n: number): Promise<Float32Array> {
    return new Float32Array((await this.fill(new Uint8Array(4 * n))).buffer);
  }

  /** Calls `onBlock` for every block of BASIS_READ_CHANNELS channels, in order. */
  async blocks(h: BasisHeader, onBlock: BlockCallback): Promise<void> {
    const pixels = h.height * h.width;
    const bytesPerChannel = pixels * bytesPerValue(h.dtype);
    let buffer = new ArrayBuffer(BASIS_READ_CHANNELS * bytesPerChannel);
    try {
      for (let k0 = 0; k0 < h.n; k0 += BASIS_READ_CHANNELS) {
        const count = Math.min(BASIS_READ_CHANNELS, h.n - k0);
        const bytes = await this.fill(new Uint8Array(buffer, 0, count * bytesPerChannel));
        buffer = bytes.buffer;
        const block: BasisBlock =
          h.dtype === 'f32'
            ? new Float32Array(buffer, 0, count * pixels)
            : { codes: new Uint16Array(buffer, 0, count * pixels), table: HALF_TABLE };
        onBlock(k0, block, count);
      }
    } finally {
      // The block is ours alone (callbacks must not keep it): give its memory back now.
      releaseBuffer(buffer);
    }
  }

  async cancel(): Promise<void> {
    await (this.byob ?? this.reader)!.cancel().catch(() => undefined);
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
    async blocks(key, header, onBlock) {
      const bytes = load(key);
      if (!bytes) throw new Error(`basis ${key} disappeared while reading`);
      await new BasisReader(new Blob([bytes.slice(BASIS_HEADER_BYTES + 4 * header.n)]).stream()).blocks(header, onBlock);
    },
    writer(key, byteLength) {
      const bytes = new Uint8Array(byteLength);
      let offset = 0;
      return {
        async write(part) {
          if (offset + part.length > byteLength) throw new Error(`basis ${key}: more than the declared ${byteLength} bytes`);
          bytes.set(part, offset);
          offset += part.length;
        },
        async close() {
          if (offset !== byteLength) throw new Error(`basis ${key}: ${offset} bytes written, expected ${byteLength}`);
          save(key, bytes);
        },
        async abort() {
          offset = -1;
        },
      };
    },
  };
}
