/**
 * @module image/decode
 * Decode JPEG and PNG bytes to 8-bit RGB with well-kept pure-JS codecs (jpeg-js,
 * fast-png), after reading the declared dimensions from the header so that oversized
 * images are refused before any pixel is decoded, and (PNG) checking that the image data
 * inflates to no more than those dimensions need (image/png-guard: deflate bombs).
 */
import { decode as decodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import { pngDataExcess } from './png-guard.js';

export interface RgbImage {
  width: number;
  height: number;
  /** HWC, RGB, 8 bits per channel. */
  data: Uint8Array;
}

export type ImageFormat = 'png' | 'jpeg';

/** Why an image was refused: `unsupported` (not PNG/JPEG), `too-large`, `undecodable`. */
export class ImageError extends Error {
  constructor(
    readonly kind: 'unsupported' | 'too-large' | 'too-small' | 'undecodable' | 'no-face',
    message: string,
    /** Which input it was (e.g. `a`), when known. */
    readonly field?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ImageError';
  }
}

export interface DecodeOptions {
  /** Refuse images whose header declares more pixels than this. */
  maxPixels?: number;
  /** Refuse images smaller than this on either side. */
  minSide?: number;
  /**
   * The bytes come from our own image service, not a client: skip the PNG data-size pass
   * (image/png-guard; it costs about a third of a large PNG's decode).
   */
  trusted?: boolean;
}

export const DEFAULT_MAX_PIXELS = 16_000_000;
export const DEFAULT_MIN_SIDE = 16;

export function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

/** What a JPEG's frame header says of its coding: the decoder's working memory depends on it. */
export interface JpegFrame {
  /** Progressive (SOF2 and the like): the decoder holds every DCT coefficient at once. */
  progressive: boolean;
  /** Component samples per pixel (3 for 4:4:4 colour, 1.5 for 4:2:0, 1 for grey). */
  samplesPerPixel: number;
}

/** Width and height declared by the header (and a JPEG's frame), without decoding pixels. */
export function readDimensions(bytes: Uint8Array, format: ImageFormat): { width: number; height: number; jpeg?: JpegFrame } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (format === 'png') {
    // Signature (8) + IHDR length (4) + "IHDR" (4) + width (4) + height (4).
    if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') {
      throw new ImageError('undecodable', 'PNG is truncated or has no IHDR chunk');
    }
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  // JPEG: walk the marker segments to the first start-of-frame.
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) throw new ImageError('undecodable', `JPEG marker expected at byte ${i}`);
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    const length = view.getUint16(i + 2);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (i + 10 > bytes.length) break;
      return { height: view.getUint16(i + 5), width: view.getUint16(i + 7), jpeg: jpegFrame(bytes, i, marker) };
    }
    if (marker === 0xd9 || marker === 0xda) break;
    i += 2 + length;
  }
  throw new ImageError('undecodable', 'JPEG is truncated or has no frame header');
}

/** The frame at `at` (marker SOFn): progressive or not, and its samples per pixel from the components' sampling factors. */
function jpegFrame(bytes: Uint8Array, at: number, marker: number): JpegFrame {
  // SOF2, 6, 10, 14 are the progressive frames.
  const progressive = (marker & 0x03) === 0x02;
  const count = bytes[at + 9]!;
  const factors: [number, number][] = [];
  for (let c = 0; c < count && at + 12 + 3 * c <= bytes.length; c++) {
    const hv = bytes[at + 11 + 3 * c]!;
    factors.push([Math.max(1, hv >> 4), Math.max(1, hv & 0x0f)]);
  }
  const hMax = Math.max(1, ...factors.map(([h]) => h));
  const vMax = Math.max(1, ...factors.map(([, v]) => v));
  const samplesPerPixel = factors.length ? factors.reduce((sum, [h, v]) => sum + (h * v) / (hMax * vMax), 0) : 3;
  return { progressive, samplesPerPixel };
}

function toRgb8(data: ArrayLike<number>, channels: number, depth: number, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  const shift = depth === 16 ? 8 : 0;
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) {
      // Grey (1) and grey+alpha (2) replicate the grey plane; alpha is dropped.
      const src = channels >= 3 ? c : 0;
      out[p * 3 + c] = data[p * channels + src]! >> shift;
    }
  }
  return out;
}

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  /** JPEG only: its frame's coding. */
  jpeg?: JpegFrame;
}

/** Format and declared size, checked against the limits, without decoding a pixel. */
export function readHeader(bytes: Uint8Array, options: DecodeOptions = {}): ImageHeader {
  const { maxPixels = DEFAULT_MAX_PIXELS, minSide = DEFAULT_MIN_SIDE } = options;
  const format = sniffFormat(bytes);
  if (!format) throw new ImageError('unsupported', 'not a PNG or JPEG image (unknown signature)');
  const { width, height, jpeg } = readDimensions(bytes, format);
  if (width * height > maxPixels) {
    throw new ImageError('too-large', `image is ${width}×${height} (${width * height} pixels); the limit is ${maxPixels} pixels`);
  }
  if (width < minSide || height < minSide) {
    throw new ImageError('too-small', `image is ${width}×${height}; each side must be at least ${minSide} pixels`);
  }
  return jpeg ? { format, width, height, jpeg } : { format, width, height };
}

/** Decode PNG or JPEG bytes to RGB8, refusing oversized or malformed input with an ImageError. */
export function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): RgbImage {
  const { maxPixels = DEFAULT_MAX_PIXELS } = options;
  const { format, width, height } = readHeader(bytes, options);
  try {
    if (format === 'png') {
      const excess = options.trusted ? undefined : pngDataExcess(bytes);
      if (excess) throw new ImageError('undecodable', excess);
      const png = decodePng(bytes);
      let { data, channels } = png;
      if (png.palette) {
        const palette = png.palette;
        const indices = data as Uint8Array;
        const rgb = new Uint8Array(png.width * png.height * 3);
        const bits = png.depth;
        const perByte = 8 / bits;
        const rowBytes = Math.ceil((png.width * bits) / 8);
        for (let y = 0; y < png.height; y++)
          for (let x = 0; x < png.width; x++) {
            const byte = indices[y * rowBytes + Math.floor(x / perByte)]!;
            const idx = bits === 8 ? byte : (byte >> (8 - bits * ((x % perByte) + 1))) & ((1 << bits) - 1);
            const colour = palette[idx] ?? [0, 0, 0];
            rgb.set(colour.slice(0, 3), (y * png.width + x) * 3);
          }
        return { width: png.width, height: png.height, data: rgb };
      }
      if (png.depth !== 8 && png.depth !== 16) {
        // fast-png leaves 1/2/4-bit grey packed; expand to 8 bits.
        const bits = png.depth;
        const maxValue = (1 << bits) - 1;
        const packed = data as Uint8Array;
        const rowBytes = Math.ceil((png.width * bits * channels) / 8);
        const expanded = new Uint8Array(png.width * png.height * channels);
        for (let y = 0; y < png.height; y++)
          for (let i = 0; i < png.width * channels; i++) {
            const bit = i * bits;
            const v = (packed[y * rowBytes + (bit >> 3)]! >> (8 - bits - (bit & 7))) & maxValue;
            expanded[y * png.width * channels + i] = Math.round((v * 255) / maxValue);
          }
        data = expanded;
        return { width: png.width, height: png.height, data: toRgb8(data, channels, 8, png.width * png.height) };
      }
      return { width: png.width, height: png.height, data: toRgb8(data, channels, png.depth, png.width * png.height) };
    }
    const img = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: Math.ceil(maxPixels / 1e6),
      maxMemoryUsageInMB: 512,
    });
    if (img.width !== width || img.height !== height) throw new Error('frame size changed while decoding');
    return { width: img.width, height: img.height, data: toRgb8(img.data, img.data.length / (width * height), 8, width * height) };
  } catch (e) {
    if (e instanceof ImageError) throw e;
    const reason = e instanceof Error ? e.message : String(e);
    throw new ImageError('undecodable', `${format.toUpperCase()} could not be decoded: ${reason}`, undefined, { cause: e });
  }
}
