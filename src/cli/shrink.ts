/**
 * @module cli/shrink
 * The engine's ImageShrinker for Node tools (CLI, evaluation, tests), taking the Worker's
 * path: a JPEG that image/jpeg-wasm `decodesInWasm` takes is decoded and shrunk by the same wasm decoder as
 * in the photo-models Worker; anything larger gets the sharp resize that miniflare's local
 * Images binding performs (one side given, aspect kept, lossless, stored orientation).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import type { ImageLimits, ImageShrinker } from '../engine/inputs.js';
import { DEFAULT_LIMITS } from '../engine/verify.js';
import { WasmJpegDecoder, decodesInWasm, shrinkTo } from '../image/jpeg-wasm.js';

const wasmPath = createRequire(import.meta.url).resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm');
let decoder: WasmJpegDecoder | undefined;
/** The wasm JPEG decoder, compiled on first use. */
export const wasmJpegDecoder = () => (decoder ??= new WasmJpegDecoder(new WebAssembly.Module(readFileSync(wasmPath))));

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

/** The photo-models Worker's choice: wasm for a JPEG of up to a few MP, the image service for the rest. */
export const localShrinker: ImageShrinker = Object.assign(
  async (...[image, target, header]: Parameters<ImageShrinker>) =>
    decodesInWasm(header) ? shrinkTo(await wasmJpegDecoder().decode(await bytesOf(image)), target) : sharpShrinker(image, target, header),
  { decodesWhole: decodesInWasm },
);

/** The Worker's limits for local files: no byte cap, the same header cap, decode limit and shrink. */
export const LOCAL_LIMITS: ImageLimits = { ...DEFAULT_LIMITS, maxImageBytes: Number.POSITIVE_INFINITY, shrink: localShrinker };
