/**
 * @module image/jpeg-wasm
 * JPEG decoding in wasm (MozJPEG's libjpeg-turbo, as @jsquash/jpeg builds it), and the
 * shrink of a decoded photo to the side asked for: about 4× faster than jpeg-js on a
 * 1–3 MP photo (docs/photos.md), so a JPEG of that size is scaled down here instead of by
 * the image service. The caller hands in the compiled WebAssembly.Module (workerd imports
 * it, Node compiles the file), so nothing here fetches. A JPEG cut short (libjpeg's
 * "premature end" warnings) is refused rather than decoded with a grey tail, as the
 * image service refuses it; a fatal libjpeg error is refused too, and the wasm instance
 * is started afresh after one. The instance's heap only grows: WASM_JPEG_MAX_BYTES bounds
 * what it is given, and an instance whose heap grew past its initial 16 MiB is dropped.
 */
import factory, { type MozJPEGModule } from '@jsquash/jpeg/codec/dec/mozjpeg_dec.js';
import { initEmscriptenModule } from '@jsquash/jpeg/utils.js';
import { ImageError, type ImageHeader, type RgbImage } from './decode.js';
import { warpAffine } from './warp.js';

/**
 * A JPEG is decoded here when the decoder's working memory for it, as `decoderBytes`
 * estimates it, is within this: a baseline photo up to 5 MP (its RGBA output), a progressive
 * one up to 2.8 MP in 4:2:0 or 2 MP in 4:4:4 (it also holds every DCT coefficient). Larger
 * ones go to the image service.
 */
export const WASM_JPEG_MAX_BYTES = 20_000_000;

/** The decoder's working memory for a JPEG: its RGBA output, and a progressive one's coefficients (2 bytes a sample). */
export function decoderBytes(header: ImageHeader): number {
  const pixels = header.width * header.height;
  const frame = header.jpeg ?? { progressive: true, samplesPerPixel: 3 };
  return pixels * (4 + (frame.progressive ? 2 * frame.samplesPerPixel : 0));
}

/** Whether a photo with this header is decoded by WasmJpegDecoder rather than by the image service. */
export const decodesInWasm = (header: ImageHeader) => header.format === 'jpeg' && decoderBytes(header) <= WASM_JPEG_MAX_BYTES;

/**
 * The instance is dropped after a decode that left its heap over this (it starts at 16 MiB
 * and never shrinks), so a large progressive JPEG's memory goes back with it.
 */
const KEPT_HEAP_BYTES = 17 * 1024 * 1024;

export type ShrinkTarget = { width: number } | { height: number };

/** The side a target fixes. */
export const sideOf = (target: ShrinkTarget) => ('width' in target ? target.width : target.height);

/** The size a `fit: scale-down` to `target` gives (as the Images binding and sharp round it). */
export function shrunkSize(width: number, height: number, target: ShrinkTarget): { width: number; height: number } {
  const k = 'width' in target ? target.width / width : target.height / height;
  if (k >= 1) return { width, height };
  return 'width' in target
    ? { width: target.width, height: Math.max(1, Math.round(height * k)) }
    : { width: Math.max(1, Math.round(width * k)), height: target.height };
}

/**
 * Area-average `img` down to `target` (unchanged when it is no larger); the other side is
 * rounded from `of`, the size of the image `img` was decoded from (a DCT-scaled decode
 * rounds its sides up), so it comes out as the image service would make it.
 */
export function shrinkTo(img: RgbImage, target: ShrinkTarget, of: { width: number; height: number } = img): RgbImage {
  const { width, height } = shrunkSize(of.width, of.height, target);
  if (width === img.width && height === img.height) return img;
  return warpAffine(img, [img.width / width, 0, 0, 0, img.height / height, 0], width, height);
}

/** RGBA → RGB within the same buffer (the view shrinks to its first three quarters). */
function rgbaToRgb(rgba: Uint8Array | Uint8ClampedArray): Uint8Array {
  const data = new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  const n = data.length >> 2;
  for (let i = 0; i < n; i++) {
    data[3 * i] = data[4 * i]!;
    data[3 * i + 1] = data[4 * i + 1]!;
    data[3 * i + 2] = data[4 * i + 2]!;
  }
  return data.subarray(0, 3 * n);
}

/** Warnings that mean part of the image is missing (libjpeg fills it grey and goes on). */
const TRUNCATED = /premature end/i;

export class WasmJpegDecoder {
  #module: Promise<MozJPEGModule> | undefined;
  #heap: () => number = () => 0;
  #warnings: string[] = [];

  constructor(private readonly wasm: WebAssembly.Module) {}

  /** Bytes of the decoder's wasm heap (0 before the first decode). */
  heapBytes(): number {
    return this.#heap();
  }

  /** Decode a JPEG (stored orientation) to RGB8, or an `undecodable` ImageError. */
  async decode(bytes: Uint8Array): Promise<RgbImage> {
    this.#module ??= initEmscriptenModule(factory, this.wasm, {
      print: () => {},
      printErr: (line: string) => this.#warnings.push(line),
    } as Parameters<typeof initEmscriptenModule>[2]).then((m) => {
      this.#heap = () => (m as unknown as { HEAPU8: Uint8Array }).HEAPU8.length;
      return m;
    });
    const module = await this.#module;
    this.#warnings = [];
    let decoded: ImageData | null;
    try {
      decoded = module.decode(bytes as Uint8Array<ArrayBuffer>, false);
    } catch (e) {
      // libjpeg's error_exit ends the wasm program: start a new instance next time.
      this.#module = undefined;
      this.#heap = () => 0;
      const why = this.#warnings.join('; ') || (e instanceof Error ? e.message : String(e));
      throw new ImageError('undecodable', `the JPEG could not be decoded: ${why}`);
    }
    if (this.#heap() > KEPT_HEAP_BYTES) {
      this.#module = undefined;
      this.#heap = () => 0;
    }
    const truncated = this.#warnings.find((w) => TRUNCATED.test(w));
    if (!decoded || truncated) throw new ImageError('undecodable', `the JPEG could not be decoded: ${truncated ?? 'no image'}`);
    return { width: decoded.width, height: decoded.height, data: rgbaToRgb(decoded.data) };
  }
}
