/**
 * The scaled wasm JPEG decoder (src/image/jpeg-scaled: libjpeg-turbo at m/8 of the size)
 * against an independent decoder, sharp's full decode area-averaged to the same size; the
 * scale it picks; its `null` for files cut short, garbage and what libjpeg's memory cap
 * refuses, and that it decodes again afterwards; and the photo-models Worker's attempt
 * (`decodeJpeg`), which hands such files to the decoders that say why.
 */
import sharp from 'sharp';
import { expect, it } from 'vitest';
import { type ShrinkOutcome, decodeJpeg, decodeScaled } from '../../src/worker/image-service.js';
import { scaledJpegDecoder, wasmJpegDecoder } from '../../src/cli/shrink.js';
import { readHeader } from '../../src/image/index.js';
import { KEPT_HEAP_BYTES, SCALED_JPEG_MAX_BYTES, eighthsFor, scaledSize, scalesJpeg } from '../../src/image/jpeg-scaled.js';
import { warpAffine } from '../../src/image/warp.js';
import { badJpegs, describeWithFaces, meanAbsDiff, readPhoto, streamOf } from './helpers.js';

const [read, meanAbs, stream] = [readPhoto, meanAbsDiff, streamOf];

it('picks the smallest eighth that keeps the side asked for, and rounds sizes up as TurboJPEG does', () => {
  expect(eighthsFor(2333, 640)).toBe(3); // 875; 2/8 gives 584
  expect(eighthsFor(1137, 640)).toBe(5); // 711
  expect(eighthsFor(6000, 640)).toBe(1); // 750
  expect(eighthsFor(5112, 640)).toBe(2); // 1/8 gives 639
  expect(eighthsFor(5113, 640)).toBe(1); // ⌈639.1⌉ = 640
  expect(eighthsFor(600, 640)).toBe(8);
  expect(scaledSize(1434, 2333, 3)).toEqual({ width: 538, height: 875 });
  expect(scaledSize(9, 9, 1)).toEqual({ width: 2, height: 2 });
});

describeWithFaces('scaled wasm JPEG decoder', () => {
  const decoder = scaledJpegDecoder();

  it('decodes at m/8 as the whole image (sharp’s libjpeg-turbo) averaged over 8/m × 8/m pixels', async () => {
    for (const file of ['single/obama_1.jpg', 'single/obama_3.jpg', 'single/lennon_1.jpg', 'group/obama_and_biden.jpg']) {
      const bytes = read(file);
      const { info, data } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const whole = { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
      for (const m of [1, 2, 3, 5, 8]) {
        const img = decoder.decode(bytes, m)!;
        expect([img.width, img.height], `${file} ${m}/8`).toEqual(Object.values(scaledSize(info.width, info.height, m)));
        expect(img.data.length).toBe(img.width * img.height * 3);
        if (m === 8) {
          // The same library with the same defaults: equal but for rounding.
          expect(meanAbs(img.data, whole.data), file).toBeLessThan(0.01);
          continue;
        }
        // The scaled inverse DCT is close to an area average on the same pixel grid (the
        // last row and column, from partial blocks, left out); measured 0.2–1.0.
        const ref = warpAffine(whole, [8 / m, 0, 0, 0, 8 / m, 0], img.width, img.height);
        let [sum, n] = [0, 0];
        for (let y = 0; y < img.height - 1; y++)
          for (let i = y * img.width * 3; i < ((y + 1) * img.width - 1) * 3; i++, n++) sum += Math.abs(img.data[i]! - ref.data[i]!);
        expect(sum / n, `${file} ${m}/8`).toBeLessThan(1.5);
      }
    }
  });

  it('gives null for a file cut short, garbage, an empty file, and decodes again afterwards', () => {
    const bytes = read('single/obama_1.jpg');
    for (const bad of badJpegs(bytes)) expect(decoder.decode(bad, 2)).toBeNull();
    expect(decoder.decode(bytes, 4)).toMatchObject({ width: 455, height: 569 });
    expect(() => decoder.decode(bytes, 0)).toThrow(RangeError);
  });

  it('stays within libjpeg’s memory cap: a large progressive JPEG is left to another decoder, its baseline twin decodes', async () => {
    const source = read('single/obama_3.jpg');
    const make = (progressive: boolean) =>
      sharp(source).resize(3000, 3000, { fit: 'fill' }).jpeg({ progressive, chromaSubsampling: '4:4:4', quality: 90 }).toBuffer();
    // 9 MP × 3 samples × 2 bytes of coefficients: over the 24 MB cap.
    expect(decoder.decode(await make(true), 1)).toBeNull();
    expect(decoder.decode(await make(false), 1)).toMatchObject({ width: 375, height: 375 });
    expect(decoder.heapBytes()).toBeLessThanOrEqual(KEPT_HEAP_BYTES);
    // Which uploads it is asked for at all: JPEGs within the byte cap.
    const header = readHeader(source);
    expect(scalesJpeg(header, source.length)).toBe(true);
    expect(scalesJpeg(header, SCALED_JPEG_MAX_BYTES + 1)).toBe(false);
    expect(scalesJpeg({ format: 'png', width: 100, height: 100 }, 1000)).toBe(false);
  });

  it('is shrunk to the target only past the caller’s limit', () => {
    const bytes = read('single/obama_3.jpg');
    const header = readHeader(bytes);
    expect(decodeScaled(decoder, bytes, header, { height: 640 }, 1600)).toMatchObject({ width: 538, height: 875 });
    expect(decodeScaled(decoder, bytes, header, { height: 640 }, 800)).toMatchObject({ width: 393, height: 640 });
  });

  it('as the photo-models Worker’s attempt: scaled pixels, or the file handed to the decoder that says why', async () => {
    const decoders = { scaled: decoder, whole: wasmJpegDecoder() };
    const bytes = read('single/obama_3.jpg');
    const header = readHeader(bytes);
    const service: string[] = [];
    const otherwise = async (): Promise<ShrinkOutcome> => {
      service.push('service');
      return { ok: false, inputError: true, reason: 'the image service cannot read it' };
    };
    const ok = await decodeJpeg(decoders, stream(bytes), header, { height: 640 }, 1600, otherwise);
    expect(ok.ok && 'image' in ok && [ok.image.width, ok.image.height]).toEqual([538, 875]);
    // Cut short, a few MP: MozJPEG decodes it whole and names the fault.
    const cut = await decodeJpeg(decoders, stream(bytes.subarray(0, bytes.length >> 1)), header, { height: 640 }, 1600, otherwise);
    expect(cut).toMatchObject({ ok: false, inputError: true });
    expect(!cut.ok && cut.reason).toMatch(/premature end/i);
    expect(service).toEqual([]);
    // Stray bytes before the end marker: libjpeg-turbo warns, MozJPEG decodes it (whole, then shrunk).
    const stray = new Uint8Array(bytes.length + 4);
    stray.set(bytes.subarray(0, bytes.length - 2));
    stray.set([0, 0, 0, 0, 0xff, 0xd9], bytes.length - 2);
    expect(decoder.decode(stray, 3)).toBeNull();
    const warned = await decodeJpeg(decoders, stream(stray), header, { height: 640 }, 1600, otherwise);
    expect(warned.ok && 'image' in warned && [warned.image.width, warned.image.height]).toEqual([393, 640]);
    // Cut short and larger than MozJPEG takes: to the image service.
    const big = await sharp(bytes).resize(3000, 4800).jpeg({ quality: 85 }).toBuffer();
    const bigCut = new Uint8Array(big.subarray(0, big.length >> 1));
    const out = await decodeJpeg(decoders, stream(bigCut), readHeader(bigCut, { maxPixels: 1e8 }), { height: 640 }, 1600, otherwise);
    expect(out).toMatchObject({ ok: false, inputError: true });
    expect(service).toEqual(['service']);
  });
});
