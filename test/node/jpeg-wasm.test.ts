/**
 * The wasm JPEG decoder (src/image/jpeg-wasm) against independent decoders: sharp's
 * libjpeg-turbo and jpeg-js; its refusals (cut short, garbage, fatal errors) and that it
 * keeps working after them; which JPEGs it takes (by the frame header) and that its heap
 * goes back after a large one; and the photo-models Worker's attempt (`decodeAndShrink`).
 */
import jpeg from 'jpeg-js';
import sharp from 'sharp';
import { expect, it } from 'vitest';
import { decodeAndShrink } from '../../src/worker/image-service.js';
import { wasmJpegDecoder } from '../../src/cli/shrink.js';
import { ImageError, type RgbImage, readHeader } from '../../src/image/index.js';
import { WASM_JPEG_MAX_BYTES, decoderBytes, decodesInWasm, shrinkTo, shrunkSize } from '../../src/image/jpeg-wasm.js';
import { badJpegs, describeWithFaces, meanAbsDiff, readPhoto, streamOf } from './helpers.js';

const [read, meanAbs, stream] = [readPhoto, meanAbsDiff, streamOf];

describeWithFaces('wasm JPEG decoder', () => {
  const decoder = wasmJpegDecoder();

  it('decodes like libjpeg-turbo (sharp) and within half a grey level of jpeg-js on average', async () => {
    for (const file of ['single/obama_1.jpg', 'single/obama_3.jpg', 'group/obama_and_biden.jpg']) {
      const bytes = read(file);
      const img = await decoder.decode(bytes);
      const ref = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      expect([img.width, img.height]).toEqual([ref.info.width, ref.info.height]);
      expect(img.data.length).toBe(img.width * img.height * 3);
      // The same library with the same defaults: equal but for rounding.
      expect(meanAbs(img.data, ref.data), file).toBeLessThan(0.01);
      const other = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
      expect(meanAbs(img.data, other.data), file).toBeLessThan(1);
    }
  });

  it('shrinks by area average to the side asked for, close to the image service’s resize', async () => {
    const bytes = read('single/obama_1.jpg');
    const img = await decoder.decode(bytes);
    const small = shrinkTo(img, { height: 640 });
    expect([small.width, small.height]).toEqual([512, 640]);
    const ref = await sharp(bytes).resize(null, 640).removeAlpha().raw().toBuffer();
    expect(meanAbs(small.data, ref)).toBeLessThan(2);
    expect(shrunkSize(1434, 2333, { height: 640 })).toEqual({ width: 393, height: 640 });
    expect(shrinkTo(img, { width: 4000 })).toBe(img);
  });

  it('refuses a JPEG cut short, garbage and an empty file, and decodes again afterwards', async () => {
    const bytes = read('single/obama_1.jpg');
    for (const bad of badJpegs(bytes)) {
      const e = await decoder.decode(bad).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ImageError);
      expect((e as ImageError).kind).toBe('undecodable');
    }
    const again: RgbImage = await decoder.decode(bytes);
    expect([again.width, again.height]).toEqual([910, 1137]);
  });

  it('takes baseline JPEGs up to 5 MP and progressive ones by their coefficients; its heap goes back after a large one', async () => {
    const source = read('single/obama_3.jpg');
    const make = (side: number, progressive: boolean, chromaSubsampling: string) =>
      sharp(source).resize(side, side, { fit: 'fill' }).jpeg({ progressive, chromaSubsampling, quality: 90 }).toBuffer();
    const baseline = readHeader(await make(2000, false, '4:2:0'));
    expect(baseline.jpeg).toEqual({ progressive: false, samplesPerPixel: 1.5 });
    expect(decoderBytes(baseline)).toBe(4 * 2000 * 2000);
    const p444 = readHeader(await make(1400, true, '4:4:4'));
    expect(p444.jpeg).toEqual({ progressive: true, samplesPerPixel: 3 });
    expect(decoderBytes(p444)).toBe(10 * 1400 * 1400);
    expect(decodesInWasm(baseline)).toBe(true);
    expect(decodesInWasm(p444)).toBe(true);
    expect(decodesInWasm({ ...p444, width: 1600, height: 1600 })).toBe(false);
    expect(decodesInWasm({ format: 'png', width: 100, height: 100 })).toBe(false);
    expect(decoderBytes({ ...baseline, width: 2500, height: 2000 })).toBe(WASM_JPEG_MAX_BYTES);
    // A 4 MP progressive 4:2:0 JPEG (over the limit, decoded here anyway) grows the heap
    // past its initial 16 MiB; the instance is dropped, and the next starts at 16 MiB.
    await decoder.decode(await make(2000, true, '4:2:0'));
    expect(decoder.heapBytes()).toBe(0);
    await decoder.decode(read('single/obama_1.jpg'));
    expect(decoder.heapBytes()).toBeLessThanOrEqual(17 * 1024 * 1024);
  });

  it('as the photo-models Worker’s attempt: pixels of the asked size, or an input error', async () => {
    const ok = await decodeAndShrink(decoder, stream(read('single/obama_3.jpg')), { height: 640 });
    expect(ok.ok && 'image' in ok && [ok.image.width, ok.image.height]).toEqual([393, 640]);
    const bytes = read('single/obama_3.jpg');
    const cut = await decodeAndShrink(decoder, stream(bytes.subarray(0, bytes.length >> 1)), { height: 640 });
    expect(cut).toMatchObject({ ok: false, inputError: true });
    expect(!cut.ok && cut.reason).toMatch(/premature end/i);
  });
});
