/**
 * @module worker/limits
 * The image limits of this deployment, from its Worker vars (wrangler.toml), with the
 * Images binding as the shrinker for photos over the decode limit (called from the
 * photo-models Worker when it is bound, so the upload streams there), and the isolate's
 * photo gate. Requests and jobs use the same limits.
 */
import type { ImageLimits } from '../engine/image-decode.js';
import { DEFAULT_LIMITS } from '../engine/verify.js';
import { photoWork } from './admission.js';
import { type ShrinkAttempt, imagesShrinker, shrinkOnce } from './image-service.js';
import { scalesJpeg } from '../image/jpeg-scaled.js';
import { photoModelsService } from './photo-models.js';
import { intVar } from './vars.js';

export function imageLimits(env: Env): ImageLimits {
  return {
    maxImageBytes: intVar(env.MAX_IMAGE_BYTES, DEFAULT_LIMITS.maxImageBytes),
    maxPixels: intVar(env.MAX_IMAGE_PIXELS, DEFAULT_LIMITS.maxPixels),
    maxDecodePixels: intVar(env.MAX_DECODE_PIXELS, DEFAULT_LIMITS.maxDecodePixels),
    // The photo-models Worker decodes JPEGs at a DCT scale in wasm (image/jpeg-scaled).
    shrink: imagesShrinker(shrinkAttempt(env), photoModelsService(env) ? scalesJpeg : undefined),
    photoWork: photoWork(env),
  };
}

/** Where photos are scaled down: the photo-models Worker (wasm JPEG decoder or its Images binding), else this Worker's Images binding. */
function shrinkAttempt(env: Env): ShrinkAttempt | undefined {
  const remote = photoModelsService(env);
  if (remote) return (image, target, header, options) => remote.shrink(image, target, header, options);
  const images = env.IMAGES;
  return images ? (image, target) => shrinkOnce(images, image, target) : undefined;
}
