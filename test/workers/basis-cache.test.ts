/**
 * The R2 basis cache in workerd: a basis streamed in through the writer reads back through
 * the BYOB reader (also when every chunk is released as soon as its write resolves, as the
 * gradient runner does); an aborted or short stream leaves no object under the key.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { type BasisHeader, basisByteLength, encodeEmbedding, encodeHeader } from '../../src/store/basis.js';
import { r2BasisCache } from '../../src/store/basis-cache.js';
import { releaseBuffer } from '../../src/release.js';

const header: BasisHeader = { dtype: 'f32', centred: true, n: 20, height: 10, width: 10, modelId: 'toy' };
const channels = Float32Array.from({ length: 20 * 100 }, (_, i) => i / 7);

describe('r2BasisCache', () => {
  it('streams a basis in and reads it back in blocks', async () => {
    const cache = r2BasisCache(env.DATA, header.n);
    const w = cache.writer('toy/basis', basisByteLength(header));
    await w.write(encodeHeader(header));
    await w.write(encodeEmbedding(new Float32Array(20).fill(2)));
    for (let k0 = 0; k0 < 20; k0 += 8) await w.write(new Uint8Array(channels.slice(k0 * 100, Math.min(20, k0 + 8) * 100).buffer));
    await w.close();
    const head = await cache.head('toy/basis');
    expect(head?.header).toEqual(header);
    const back = new Float32Array(channels.length);
    const seen: number[] = [];
    await cache.blocks('toy/basis', head!.header, (k0, block, count) => {
      seen.push(k0);
      back.set((block as Float32Array).subarray(0, count * 100), k0 * 100);
    });
    expect(seen).toEqual([0, 16]);
    expect(back).toEqual(channels);
  });

  it('stores chunks intact when each is released once its write resolves', async () => {
    const cache = r2BasisCache(env.DATA, header.n);
    const w = cache.writer('toy/released', basisByteLength(header));
    await w.write(encodeHeader(header));
    await w.write(encodeEmbedding(new Float32Array(20).fill(2)));
    for (let k0 = 0; k0 < 20; k0 += 4) {
      const chunk = new Uint8Array(channels.slice(k0 * 100, (k0 + 4) * 100).buffer);
      await w.write(chunk);
      releaseBuffer(chunk);
      expect(chunk.byteLength).toBe(0);
    }
    await w.close();
    const back = new Float32Array(channels.length);
    await cache.blocks('toy/released', (await cache.head('toy/released'))!.header, (k0, block, count) =>
      back.set((block as Float32Array).subarray(0, count * 100), k0 * 100),
    );
    expect(back).toEqual(channels);
  });

  it('keeps nothing from an aborted or short stream', async () => {
    const cache = r2BasisCache(env.DATA, header.n);
    const aborted = cache.writer('toy/aborted', basisByteLength(header));
    await aborted.write(encodeHeader(header));
    await aborted.abort(new Error('gradient failed'));
    const short = cache.writer('toy/short', basisByteLength(header));
    await short.write(encodeHeader(header));
    await expect(short.close()).rejects.toThrow();
    expect(await env.DATA.head('toy/aborted')).toBeNull();
    expect(await env.DATA.head('toy/short')).toBeNull();
    expect(await cache.head('toy/short')).toBeUndefined();
  });
});
