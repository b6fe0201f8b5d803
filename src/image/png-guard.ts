/**
 * @module image/png-guard
 * A PNG's image data may inflate only to the size its header declares. The decoder
 * (fast-png) inflates all of it into memory before it looks, so a small file under the
 * pixel cap could still make the isolate allocate hundreds of megabytes (a deflate bomb).
 * This pass streams the IDAT data through fflate's inflater, counting and discarding the
 * output, and stops as soon as it passes the declared size.
 */
import { Unzlib } from 'fflate';

/** Samples per pixel of each PNG colour type (grey, RGB, palette, grey+alpha, RGBA). */
const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Adam7 passes: x start, y start, x step, y step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** Bytes the image data of a width×height PNG inflates to: each row's filter byte and samples. */
export function pngDataBytes(width: number, height: number, bitsPerPixel: number, interlaced: boolean): number {
  const rows = (w: number, h: number) => (w > 0 && h > 0 ? h * (1 + Math.ceil((w * bitsPerPixel) / 8)) : 0);
  if (!interlaced) return rows(width, height);
  return ADAM7.reduce((sum, [x0, y0, dx, dy]) => sum + rows(Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy)), 0);
}

class TooMuchData extends Error {}

/**
 * Why the PNG's image data cannot be trusted (it inflates past its declared size), or
 * undefined. Other defects are left to the decoder, which reports them.
 */
export function pngDataExcess(bytes: Uint8Array): string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 33) return undefined;
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const samples = SAMPLES[bytes[25]!];
  if (samples === undefined) return undefined;
  const limit = pngDataBytes(width, height, samples * bytes[24]!, bytes[28] === 1);
  let inflated = 0;
  const inflater = new Unzlib((chunk) => {
    inflated += chunk.length;
    if (inflated > limit) throw new TooMuchData();
  });
  // The image data is joined first and inflated in one push: fflate's stream re-copies its
  // pending input on every push, which costs seconds over thousands of small IDAT chunks.
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let at = 8; at + 8 <= bytes.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
    if (type === 'IEND') break;
    if (type === 'IDAT') {
      const part = bytes.subarray(at + 8, Math.min(at + 8 + length, bytes.length));
      parts.push(part);
      total += part.length;
    }
    at += 12 + length;
  }
  const data = parts.length === 1 ? parts[0]! : new Uint8Array(total);
  if (parts.length > 1) {
    let offset = 0;
    for (const part of parts) {
      data.set(part, offset);
      offset += part.length;
    }
  }
  try {
    inflater.push(data, true);
  } catch (e) {
    if (e instanceof TooMuchData) return `PNG image data inflates to more than the ${limit} bytes its ${width}×${height} header declares`;
  }
  return undefined;
}
