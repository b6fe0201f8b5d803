/**
 * @module cli/shrink
 * The engine's ImageShrinker for Node tools (CLI, evaluation, tests): the same sharp
 * resize that miniflare's local Images binding performs (one side given, aspect kept,
 * PNG out, stored orientation), so photos over the decode limit take the Worker's path.
 */
import sharp from 'sharp';
import type { ImageLimits, ImageShrinker } from '../engine/inputs.js';
import { DEFAULT_LIMITS } from '../engine/verify.js';

export const sharpShrinker: ImageShrinker = async (image, target) => {
  const bytes = image instanceof Blob ? new Uint8Array(await image.arrayBuffer()) : image;
  const [w, h] = 'width' in target ? [target.width, null] : [null, target.height];
  return new Uint8Array(await sharp(bytes).resize(w, h, { fit: 'contain' }).png().toBuffer());
};

/** The Worker's limits for local files: no byte cap, the same header cap, decode limit and shrink. */
export const LOCAL_LIMITS: ImageLimits = { ...DEFAULT_LIMITS, maxImageBytes: Number.POSITIVE_INFINITY, shrink: sharpShrinker };
