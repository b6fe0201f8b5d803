/**
 * @module api/limits
 * The image limits of this deployment, from its Worker vars (wrangler.toml), with the
 * Images binding as the shrinker for photos over the decode limit, and the isolate's photo
 * gate. Requests and jobs use the same limits.
 */
import { DEFAULT_LIMITS, type ImageLimits } from '../engine/verify.js';
import { photoWork } from './admission.js';
import { imagesShrinker } from './image-service.js';
import { intVar } from './vars.js';

export function imageLimits(env: Env): ImageLimits {
  return {
    maxImageBytes: intVar(env.MAX_IMAGE_BYTES, DEFAULT_LIMITS.maxImageBytes),
    maxPixels: intVar(env.MAX_IMAGE_PIXELS, DEFAULT_LIMITS.maxPixels),
    maxDecodePixels: intVar(env.MAX_DECODE_PIXELS, DEFAULT_LIMITS.maxDecodePixels),
    shrink: imagesShrinker(env.IMAGES),
    photoWork: photoWork(env),
  };
}
