/**
 * @module api/image-service
 * The Images binding as the engine's ImageShrinker: a phone-size photo streams to
 * Cloudflare's image service (locally: miniflare's, built on sharp) and comes back as a
 * small PNG, so the isolate never holds the whole decoded image. What the service cannot
 * read becomes an `undecodable` ImageError (422), never a 500.
 */
import type { ImageShrinker } from '../engine/inputs.js';
import { ImageError, sniffFormat } from '../image/index.js';

/** Scale images down with the Images binding; `undefined` when the Worker has none. */
export function imagesShrinker(images: ImagesBinding | undefined): ImageShrinker | undefined {
  if (!images) return undefined;
  return async (image, target) => {
    try {
      const blob = image instanceof Blob ? image : new Blob([image as Uint8Array<ArrayBuffer>]);
      const result = await images
        .input(blob.stream())
        .transform({ ...target, fit: 'scale-down' })
        .output({ format: 'image/png' });
      const out = new Uint8Array(await result.response().arrayBuffer());
      if (!sniffFormat(out)) throw new Error(`the image service returned ${result.contentType()}`);
      return out;
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      throw new ImageError('undecodable', `the image could not be scaled down: ${reason}`, undefined, { cause: e });
    }
  };
}
