/**
 * @module image/jpeg-scaled
 * JPEG decoding at a reduced scale in wasm: libjpeg-turbo's TurboJPEG API (the build that
 * @cwasm/jpeg-turbo ships) decodes straight to m/8 of the image's size (m = 1…8) by
 * scaling its inverse DCT, so a 3 MP photo wanted at 640 px is never decoded whole nor
 * shrunk afterwards (docs/photos.md). The caller hands in the compiled WebAssembly.Module
 * (workerd imports it, Node compiles the file), so nothing here fetches.
 *
 * libjpeg's own memory manager is capped (JPEGMEM, read through the WASI environment):
 * a JPEG that would need more (a large progressive or multi-scan one keeps every DCT
 * coefficient) fails instead of growing the heap. Any warning (a file cut short, stray
 * bytes) or error gives `null`: this decoder cannot say which it was, so the caller
 * decodes such a file another way, which can. After an error the instance is started
 * afresh (libjpeg's longjmp ends the wasm call midway), and an instance whose heap grew
 * past KEPT_HEAP_BYTES is dropped after its decode, so its memory goes back.
 */
import type { ImageHeader, RgbImage } from './decode.js';

/**
 * libjpeg's memory cap (JPEGMEM, in its own unit: "24m" is 24 000 000 bytes): a
 * progressive JPEG keeps 2 bytes per sample, so up to 4 MP in 4:4:4 or 8 MP in 4:2:0.
 */
export const SCALED_JPEG_MEMORY = '24m';

/** Uploads larger than this (encoded bytes, copied into the wasm heap whole) are not decoded here. */
export const SCALED_JPEG_MAX_BYTES = 16 * 1024 * 1024;

/** Heap kept between decodes; an instance that grew past it is replaced. */
export const KEPT_HEAP_BYTES = 24 * 1024 * 1024;

/** TurboJPEG's TJPF_RGB (3 bytes a pixel, R, G, B). */
const TJPF_RGB = 0;

/** Whether this decoder is asked first for a photo with this header (JPEG within the byte cap; memory is libjpeg's own cap). */
export const scalesJpeg = (header: ImageHeader, bytes: number) => header.format === 'jpeg' && bytes <= SCALED_JPEG_MAX_BYTES;

/** The size of an image decoded at m/8 (TurboJPEG's TJSCALED: rounded up). */
export function scaledSize(width: number, height: number, eighths: number): { width: number; height: number } {
  return { width: Math.ceil((width * eighths) / 8), height: Math.ceil((height * eighths) / 8) };
}

/** The smallest m/8 (m = 1…8) at which a side of `size` pixels keeps at least `want` (8 when none does). */
export function eighthsFor(size: number, want: number): number {
  for (let m = 1; m < 8; m++) if (Math.ceil((size * m) / 8) >= want) return m;
  return 8;
}

interface TurboJpeg {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(ptr: number): void;
  tjInitDecompress(): number;
  tjDecompressHeader3(
    handle: number,
    src: number,
    size: number,
    width: number,
    height: number,
    subsamp: number,
    colorspace: number,
  ): number;
  tjDecompress2(
    handle: number,
    src: number,
    size: number,
    dst: number,
    width: number,
    pitch: number,
    height: number,
    format: number,
    flags: number,
  ): number;
  tjDestroy(handle: number): number;
}

/** libjpeg's longjmp: it cannot return into C here, so it unwinds the wasm call. */
class LibjpegExit extends Error {}

/** A WASI environment holding only JPEGMEM, and stubs for the calls the build imports but a decode never makes. */
function instantiate(wasm: WebAssembly.Module): TurboJpeg {
  const environ = [new TextEncoder().encode(`JPEGMEM=${SCALED_JPEG_MEMORY}\0`)];
  let exports: TurboJpeg | undefined;
  const view = () => new DataView(exports!.memory.buffer);
  const unsupported = (name: string) => () => {
    throw new LibjpegExit(`${name} is not available`);
  };
  const instance = new WebAssembly.Instance(wasm, {
    env: {
      setjmp: () => 0,
      longjmp: () => {
        throw new LibjpegExit('libjpeg error');
      },
    },
    wasi_snapshot_preview1: {
      environ_sizes_get(count: number, bytes: number) {
        view().setUint32(count, environ.length, true);
        view().setUint32(
          bytes,
          environ.reduce((n, s) => n + s.length, 0),
          true,
        );
        return 0;
      },
      environ_get(pointers: number, buffer: number) {
        let at = buffer;
        environ.forEach((s, i) => {
          view().setUint32(pointers + 4 * i, at, true);
          new Uint8Array(exports!.memory.buffer, at, s.length).set(s);
          at += s.length;
        });
        return 0;
      },
      proc_exit: unsupported('proc_exit'),
      fd_close: unsupported('fd_close'),
      fd_seek: unsupported('fd_seek'),
      fd_write: unsupported('fd_write'),
    },
  });
  exports = instance.exports as unknown as TurboJpeg;
  return exports;
}

export class ScaledJpegDecoder {
  #turbo: TurboJpeg | undefined;

  constructor(private readonly wasm: WebAssembly.Module) {}

  /** Bytes of the decoder's wasm heap (0 before the first decode). */
  heapBytes(): number {
    return this.#turbo?.memory.buffer.byteLength ?? 0;
  }

  /**
   * Decode a JPEG (stored orientation) at m/8 of its size (`eighths` = m, 1…8) to RGB8;
   * `null` when libjpeg-turbo warned or failed (the file is then for another decoder to judge).
   */
  decode(bytes: Uint8Array, eighths: number): RgbImage | null {
    if (!Number.isInteger(eighths) || eighths < 1 || eighths > 8) throw new RangeError(`scale ${eighths}/8 is not one of 1/8…8/8`);
    this.#turbo ??= instantiate(this.wasm);
    const turbo = this.#turbo;
    try {
      return this.#decode(turbo, bytes, eighths);
    } catch (e) {
      // libjpeg's error exit unwound the call: this instance's stack and heap are not to be trusted.
      this.#turbo = undefined;
      if (e instanceof LibjpegExit || e instanceof WebAssembly.RuntimeError) return null;
      throw e;
    } finally {
      if (this.#turbo && this.#turbo.memory.buffer.byteLength > KEPT_HEAP_BYTES) this.#turbo = undefined;
    }
  }

  #decode(turbo: TurboJpeg, bytes: Uint8Array, eighths: number): RgbImage | null {
    const handle = turbo.tjInitDecompress();
    const input = turbo.malloc(bytes.length);
    const meta = turbo.malloc(16);
    let output = 0;
    // Freed only when no libjpeg error unwound the call (the instance is dropped then).
    const release = () => {
      turbo.free(output);
      turbo.free(meta);
      turbo.free(input);
      if (handle !== 0) turbo.tjDestroy(handle);
    };
    if (handle === 0 || input === 0 || meta === 0) {
      release();
      return null;
    }
    new Uint8Array(turbo.memory.buffer, input, bytes.length).set(bytes);
    let image: RgbImage | null = null;
    if (turbo.tjDecompressHeader3(handle, input, bytes.length, meta, meta + 4, meta + 8, meta + 12) === 0) {
      const [width, height] = new Int32Array(turbo.memory.buffer, meta, 2) as unknown as [number, number];
      const size = scaledSize(width, height, eighths);
      output = turbo.malloc(size.width * size.height * 3);
      const pitch = size.width * 3;
      if (output !== 0 && turbo.tjDecompress2(handle, input, bytes.length, output, size.width, pitch, size.height, TJPF_RGB, 0) === 0)
        image = { ...size, data: new Uint8Array(turbo.memory.buffer, output, pitch * size.height).slice() };
    }
    release();
    return image;
  }
}
