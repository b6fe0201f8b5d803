/**
 * @module cli/shrink
 * The engine's ImageShrinker for Node tools (CLI, evaluation, tests), taking the Worker's
 * path: a JPEG is decoded at a DCT scale by the same libjpeg-turbo wasm as in the
 * photo-models Worker (image/jpeg-scaled), or, when that one warned, whole by the same
 * MozJPEG wasm if it can hold it; anything else gets the sharp resize that miniflare's local
 * Images binding performs (one side given, aspect kept, lossless, stored orientation).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { decodeScaled } from '../worker/image-service.js';
import type { ImageLimits, ImageShrinker } from '../engine/image-decode.js';
import { DEFAULT_LIMITS } from '../engine/verify.js';
import { ScaledJpegDecoder, scalesJpeg } from '../image/jpeg-scaled.js';
import { WasmJpegDecoder, decodesInWasm, shrinkTo } from '../image/jpeg-wasm.js';

const resolve = createRequire(import.meta.url).resolve;
const compile = (pkgPath: string) => new WebAssembly.Module(readFileSync(resolve(pkgPath)));
let decoder: WasmJpegDecoder | undefined;
let scaled: ScaledJpegDecoder | undefined;
/** The wasm JPEG decoder that decodes whole (MozJPEG), compiled on first use. */
export const wasmJpegDecoder = () => (decoder ??= new WasmJpegDecoder(compile('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm')));
/** The wasm JPEG decoder that decodes at a DCT scale (libjpeg-turbo), compiled on first use. */
export const scaledJpegDecoder = () => (scaled ??= new ScaledJpegDecoder(compile('@cwasm/jpeg-turbo/jpeg-turbo.wasm')));

const bytesOf = async (image: Uint8Array | Blob) => (image instanceof Blob ? new Uint8Array(await image.arrayBuffer()) : image);

/** What the local Images binding returns (sharp, PNG: lossless), as pixels. */
export const sharpShrinker: ImageShrinker = async (image, target) => {
  const [w, h] = 'width' in target ? [target.width, null] : [null, target.height];
  const { data, info } = await sharp(await bytesOf(image))
    .resize(w, h, { fit: 'contain' })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
};

/** The photo-models Worker's choice: libjpeg-turbo at a DCT scale for a JPEG, then MozJPEG whole for a few MP, the image service for the rest. */
export const localShrinker: ImageShrinker = Object.assign(
  async (...[image, target, header, options]: Parameters<ImageShrinker>) => {
    const bytes = await bytesOf(image);
    const scaled = scalesJpeg(header, bytes.length) ? decodeScaled(scaledJpegDecoder(), bytes, header, target, options?.atMost) : null;
    if (scaled) return scaled;
    return decodesInWasm(header) ? shrinkTo(await wasmJpegDecoder().decode(bytes), target) : sharpShrinker(bytes, target, header);
  },
  { scales: scalesJpeg },
);

/** The Worker's limits for local files: no byte cap, the same header cap, decode limit and shrink. */
export const LOCAL_LIMITS: ImageLimits = { ...DEFAULT_LIMITS, maxImageBytes: Number.POSITIVE_INFINITY, shrink: localShrinker };
