/**
 * Decoding (PNG grey/RGB/RGBA/16-bit/palette, JPEG), size caps before decoding, and
 * preprocessing against face-api's own toBatchTensor (pad to square + TF bilinear).
 */
import { deflateSync } from 'node:zlib';
import { encode as encodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ImageError, decodeImage, readDimensions, toModelInput } from '../../src/image/index.js';
import { FACE_SPEC } from '../../eval/lib/faces.js';
import { loadFaceApiOracle } from '../oracle/faceapi.js';
import { pngDataBytes, pngDataExcess } from '../../src/image/png-guard.js';
import { pngOf } from '../../bench/fuzz/cases.js';

function pattern(w: number, h: number, channels: number, max = 255): number[] {
  const out: number[] = [];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) for (let c = 0; c < channels; c++) out.push(((x * 7 + y * 13 + c * 50) * 3) % (max + 1));
  return out;
}

const png = (w: number, h: number, channels: number, depth: 8 | 16 = 8) =>
  encodePng({
    width: w,
    height: h,
    channels,
    depth,
    data: depth === 16 ? Uint16Array.from(pattern(w, h, channels, 65535)) : Uint8Array.from(pattern(w, h, channels)),
  });

describe('decodeImage', () => {
  it('decodes grey PNG by replicating the plane', () => {
    const img = decodeImage(png(20, 18, 1));
    expect([img.width, img.height]).toEqual([20, 18]);
    const src = pattern(20, 18, 1);
    expect([...img.data.subarray(0, 6)]).toEqual([src[0], src[0], src[0], src[1], src[1], src[1]]);
  });

  it('decodes RGB, RGBA (alpha dropped) and 16-bit PNG', () => {
    const rgb = decodeImage(png(17, 16, 3));
    expect([...rgb.data.subarray(0, 3)]).toEqual(pattern(17, 16, 3).slice(0, 3));
    const rgba = decodeImage(png(17, 16, 4));
    expect([...rgba.data.subarray(0, 3)]).toEqual(pattern(17, 16, 4).slice(0, 3));
    const deep = decodeImage(png(16, 16, 3, 16));
    expect(deep.data[1]).toBe(pattern(16, 16, 3, 65535)[1]! >> 8);
  });

  it('decodes JPEG', () => {
    const rgba = new Uint8Array(32 * 24 * 4).fill(200);
    const bytes = jpeg.encode({ width: 32, height: 24, data: rgba }, 90).data;
    const img = decodeImage(new Uint8Array(bytes));
    expect([img.width, img.height]).toEqual([32, 24]);
    expect(Math.abs(img.data[0]! - 200)).toBeLessThanOrEqual(2);
  });

  it('refuses a 20000×20000 header before decoding a pixel', () => {
    const header = png(16, 16, 1);
    const view = new DataView(header.buffer, header.byteOffset);
    view.setUint32(16, 20000);
    view.setUint32(20, 20000);
    expect(readDimensions(header, 'png')).toEqual({ width: 20000, height: 20000 });
    expect(() => decodeImage(header)).toThrow(expect.objectContaining({ kind: 'too-large' }));
  });

  it('refuses garbage, truncated files, unknown formats and tiny images with typed errors', () => {
    const garbage = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4, 5]);
    expect(() => decodeImage(garbage)).toThrow(ImageError);
    const full = png(32, 32, 3);
    expect(() => decodeImage(full.subarray(0, 60))).toThrow(expect.objectContaining({ kind: 'undecodable' }));
    const jpg = new Uint8Array(jpeg.encode({ width: 32, height: 32, data: new Uint8Array(32 * 32 * 4).fill(90) }, 80).data);
    expect(() => decodeImage(jpg.subarray(0, jpg.length / 2))).toThrow(ImageError);
    expect(() => decodeImage(new TextEncoder().encode('GIF89a....'))).toThrow(expect.objectContaining({ kind: 'unsupported' }));
    expect(() => decodeImage(png(1, 1, 3))).toThrow(expect.objectContaining({ kind: 'too-small' }));
  });
});

describe('PNG deflate bombs', () => {
  it('refuses image data that inflates past what the header declares, before the decoder inflates it', () => {
    // 1400×1400 RGB needs 1400 × (1 + 4200) bytes; 64 MiB of zeros compress to ~65 KB.
    const bomb = pngOf(1400, 1400, deflateSync(new Uint8Array(64 * 1024 * 1024), { level: 9 }));
    expect(bomb.length).toBeLessThan(100_000);
    expect(pngDataExcess(bomb)).toMatch(/inflates to more than the 5881400 bytes/);
    expect(() => decodeImage(bomb)).toThrow(/inflates to more than/);
    // Exactly the declared size is a valid (black) image.
    const exact = pngOf(40, 30, deflateSync(new Uint8Array(30 * (1 + 120))));
    expect(pngDataExcess(exact)).toBeUndefined();
    expect(decodeImage(exact).data.every((v) => v === 0)).toBe(true);
    expect(pngDataExcess(pngOf(40, 30, deflateSync(new Uint8Array(30 * (1 + 120) + 1))))).toMatch(/inflates/);
  });

  it('counts interlaced (Adam7) image data right: real interlaced PNGs pass and decode', async () => {
    for (const [w, h] of [
      [17, 16],
      [33, 29],
      [150, 150],
    ] as const) {
      const raw = Uint8Array.from(pattern(w, h, 3));
      const interlaced = new Uint8Array(
        await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
          .png({ progressive: true })
          .toBuffer(),
      );
      expect(interlaced[28]).toBe(1);
      expect(pngDataExcess(interlaced)).toBeUndefined();
      expect([...decodeImage(interlaced).data]).toEqual([...raw]);
    }
    // 1×1 RGB8, interlaced: only pass 1 holds a pixel (1 filter byte + 3).
    expect(pngDataBytes(1, 1, 24, true)).toBe(4);
    // 8×8: the seven passes are 1×1, 1×1, 2×1, 2×2, 4×2, 4×4 and 8×4 pixels, each row with its filter byte.
    expect(pngDataBytes(8, 8, 24, true)).toBe(4 + 4 + 7 + 2 * 7 + 2 * 13 + 4 * 13 + 4 * 25);
    expect(pngDataBytes(8, 8, 24, false)).toBe(8 * 25);
  });
});

describe('toModelInput matches face-api preprocessing', () => {
  it.each([
    [150, 150],
    [120, 90],
    [97, 201],
  ])('%i×%i image', async (w, h) => {
    const oracle = await loadFaceApiOracle();
    const { tf, faceapi } = oracle;
    const img = decodeImage(png(w, h, 3));
    const ours = toModelInput(img, FACE_SPEC);
    const t = tf.tensor3d(Float32Array.from(img.data), [h, w, 3], 'float32');
    const batch = new faceapi.NetInput([t], true).toBatchTensor(150, true);
    const theirs = tf
      .tidy(() => faceapi.normalize(batch, [122.782, 117.001, 104.298]).div(255).transpose([0, 3, 1, 2]))
      .dataSync() as Float32Array;
    t.dispose();
    batch.dispose();
    let max = 0;
    for (let i = 0; i < ours.length; i++) max = Math.max(max, Math.abs(ours[i]! - theirs[i]!));
    expect(max).toBeLessThan(1e-5);
  });
});
