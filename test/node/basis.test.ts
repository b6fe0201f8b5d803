/**
 * The stored basis format and its reader: a basis written through a BasisWriter reads back
 * block by block whether the stream is a byte stream (BYOB reads into one buffer) or
 * arrives in arbitrary chunks; the FGGB sum is bit-identical however the channels are
 * chunked (4-aligned); truncated objects and aborted or short writes are errors and store
 * nothing.
 */
import { describe, expect, it } from 'vitest';
import {
  BASIS_HEADER_BYTES,
  BasisReader,
  type BasisHeader,
  basisByteLength,
  bytesBasisCache,
  encodeEmbedding,
  encodeHeader,
} from '../../src/store/basis.js';
import { HALF_TABLE, encodeHalf } from '../../src/store/float16.js';
import { FggbAccumulator } from '../../src/xfv/fggb.js';

const header: BasisHeader = { dtype: 'f16', centred: false, n: 40, height: 6, width: 5, modelId: 'toy' };
const pixels = 30;
const values = Float32Array.from({ length: header.n * pixels }, (_, i) => Math.sin(i * 0.71) * 0.01);
const weights = Float64Array.from({ length: header.n }, (_, k) => Math.cos(k));
const codes = encodeHalf(values);

function objectBytes(): Uint8Array<ArrayBuffer> {
  const parts = [encodeHeader(header), encodeEmbedding(new Float32Array(header.n).fill(0.5)), new Uint8Array(codes.buffer)];
  const out = new Uint8Array(basisByteLength(header));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A plain (non-byte) stream delivering `bytes` in chunks of the given sizes, cycling. */
function chunkedStream(bytes: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  let offset = 0;
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (offset >= bytes.length) return c.close();
      const n = sizes[i++ % sizes.length]!;
      c.enqueue(bytes.slice(offset, offset + n));
      offset += n;
    },
  });
}

async function sumFrom(stream: ReadableStream<Uint8Array>): Promise<Float32Array> {
  const reader = new BasisReader(stream);
  const h = await reader.header();
  expect(h).toEqual(header);
  expect(Array.from(await reader.embedding(h.n))).toEqual(new Array(h.n).fill(0.5));
  const acc = new FggbAccumulator(pixels, weights);
  await reader.blocks(h, (k0, block, count) => acc.addBlock(k0, block, count));
  return acc.finish().raw;
}

describe('basis objects', () => {
  it('read back identically from a byte stream and from odd-sized chunks', async () => {
    const bytes = objectBytes();
    const byob = await sumFrom(new Blob([bytes]).stream());
    const odd = await sumFrom(chunkedStream(bytes, [1, 7, 333, 64, 4096]));
    expect(odd).toEqual(byob);
    // The same sum from the float16 values fed in 4-aligned chunks of another size.
    const acc = new FggbAccumulator(pixels, weights);
    for (let k0 = 0; k0 < header.n; k0 += 12) {
      const count = Math.min(12, header.n - k0);
      acc.addBlock(k0, { codes: codes.subarray(k0 * pixels, (k0 + count) * pixels), table: HALF_TABLE }, count);
    }
    expect(acc.finish().raw).toEqual(byob);
    // And agrees with a plain float64 sum of the decoded values to float32 rounding.
    const ref = new Float64Array(pixels);
    for (let k = 0; k < header.n; k++) for (let i = 0; i < pixels; i++) ref[i]! += weights[k]! * HALF_TABLE[codes[k * pixels + i]!]!;
    byob.forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 6));
  });

  it('reject a truncated object', async () => {
    const bytes = objectBytes().slice(0, BASIS_HEADER_BYTES + 4 * header.n + 1000);
    await expect(sumFrom(new Blob([bytes]).stream())).rejects.toThrow(/truncated/);
    await expect(sumFrom(chunkedStream(bytes, [100]))).rejects.toThrow(/truncated/);
  });

  it('store nothing on an aborted or short write', async () => {
    const saved = new Map<string, Uint8Array>();
    const cache = bytesBasisCache(
      (k) => saved.get(k),
      (k, b) => saved.set(k, b),
    );
    const w = cache.writer('a', 100);
    await w.write(new Uint8Array(60));
    await w.abort(new Error('gradient failed'));
    const short = cache.writer('b', 100);
    await short.write(new Uint8Array(60));
    await expect(short.close()).rejects.toThrow(/60 bytes written, expected 100/);
    await expect(cache.writer('c', 10).write(new Uint8Array(11))).rejects.toThrow(/more than/);
    expect(saved.size).toBe(0);
  });

  it('the accumulator refuses repeated, missing and out-of-range channels', () => {
    const acc = new FggbAccumulator(pixels, weights);
    acc.addBlock(0, values.subarray(0, 4 * pixels), 4);
    expect(() => acc.addBlock(2, values.subarray(0, 4 * pixels), 4)).toThrow(/twice/);
    expect(() => acc.addBlock(40, values.subarray(0, pixels), 1)).toThrow(/out of range/);
    expect(() => acc.addBlock(8, values.subarray(0, pixels), 2)).toThrow(/expected 60/);
    expect(() => acc.finish()).toThrow(/never added/);
  });
});
