/**
 * @module image/orientation
 * EXIF orientation: read the Orientation tag (0x0112) from a JPEG's APP1 Exif segment
 * (TIFF, either byte order; bounds-checked, any malformation reads as "no tag"), and turn
 * decoded pixels upright as every viewer shows them (orientations 2–8: mirror and/or
 * rotate by 90° steps).
 */
import type { RgbImage } from './decode.js';

/** The orientation (1…8) the JPEG declares, or 1 when it declares none. */
export function exifOrientation(bytes: Uint8Array): number {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return 1;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let i = 2;
  while (i + 4 <= bytes.length && bytes[i] === 0xff) {
    const marker = bytes[i + 1]!;
    if (marker === 0xda || marker === 0xd9) break; // start of scan / end: no more metadata
    const length = view.getUint16(i + 2);
    if (length < 2 || i + 2 + length > bytes.length) break;
    if (marker === 0xe1 && length >= 16 && String.fromCharCode(...bytes.subarray(i + 4, i + 10)) === 'Exif\0\0') {
      return tiffOrientation(view, i + 10, i + 2 + length) ?? 1;
    }
    i += 2 + length;
  }
  return 1;
}

function tiffOrientation(view: DataView, start: number, end: number): number | undefined {
  if (start + 8 > end) return undefined;
  const order = view.getUint16(start);
  if (order !== 0x4949 && order !== 0x4d4d) return undefined;
  const little = order === 0x4949;
  const u16 = (at: number) => view.getUint16(at, little);
  const u32 = (at: number) => view.getUint32(at, little);
  if (u16(start + 2) !== 42) return undefined;
  const ifd = start + u32(start + 4);
  if (ifd + 2 > end) return undefined;
  const entries = u16(ifd);
  for (let e = 0; e < entries; e++) {
    const at = ifd + 2 + 12 * e;
    if (at + 12 > end) return undefined;
    if (u16(at) === 0x0112) {
      const value = u16(at + 8);
      return value >= 1 && value <= 8 ? value : undefined;
    }
  }
  return undefined;
}

/** The pixels turned upright for `orientation` (1 returns the image itself). */
export function orientUpright(img: RgbImage, orientation: number): RgbImage {
  if (orientation <= 1 || orientation > 8) return img;
  const { width: w, height: h, data } = img;
  const swap = orientation >= 5;
  const [ow, oh] = swap ? [h, w] : [w, h];
  const out = new Uint8Array(data.length);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      // Source pixel of upright pixel (x, y), per EXIF orientation.
      let sx: number;
      let sy: number;
      switch (orientation) {
        case 2:
          [sx, sy] = [w - 1 - x, y];
          break;
        case 3:
          [sx, sy] = [w - 1 - x, h - 1 - y];
          break;
        case 4:
          [sx, sy] = [x, h - 1 - y];
          break;
        case 5:
          [sx, sy] = [y, x];
          break;
        case 6:
          [sx, sy] = [y, h - 1 - x];
          break;
        case 7:
          [sx, sy] = [w - 1 - y, h - 1 - x];
          break;
        default:
          [sx, sy] = [w - 1 - y, x];
          break;
      }
      const o = (y * ow + x) * 3;
      const s = (sy * w + sx) * 3;
      out[o] = data[s]!;
      out[o + 1] = data[s + 1]!;
      out[o + 2] = data[s + 2]!;
    }
  }
  return { width: ow, height: oh, data: out };
}
