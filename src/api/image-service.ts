/**
 * @module api/image-service
 * The Images binding as the engine's ImageShrinker: a phone-size photo streams to
 * Cloudflare's image service (locally: miniflare's, built on sharp) and comes back as a
 * small PNG, so the isolate never holds the whole decoded image. What the service cannot
 * read (an ImagesError, with its numeric code) becomes an `undecodable` ImageError (422);
 * the service itself failing (a lost connection, no answer) is tried once more, then a 503
 * `image-service-unavailable` with Retry-After: the image was not at fault.
 */
import type { ImageShrinker } from '../engine/inputs.js';
import { ImageError, sniffFormat } from '../image/index.js';
import { ProblemError } from './problem.js';

/** The Images binding rejects an input with an ImagesError carrying a numeric code. */
const isInputError = (e: unknown) => e instanceof Error && typeof (e as { code?: unknown }).code === 'number';

/** Scale images down with the Images binding; `undefined` when the Worker has none. */
export function imagesShrinker(images: ImagesBinding | undefined): ImageShrinker | undefined {
  if (!images) return undefined;
  return async (image, target) => {
    const blob = image instanceof Blob ? image : new Blob([image as Uint8Array<ArrayBuffer>]);
    const shrink = async () => {
      const result = await images
        .input(blob.stream())
        .transform({ ...target, fit: 'scale-down' })
        .output({ format: 'image/png' });
      return { bytes: new Uint8Array(await result.response().arrayBuffer()), type: result.contentType() };
    };
    let out: { bytes: Uint8Array; type: string };
    try {
      out = await shrink().catch((e: unknown) => {
        if (isInputError(e)) throw e;
        return shrink();
      });
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      if (isInputError(e)) throw new ImageError('undecodable', `the image could not be scaled down: ${reason}`, undefined, { cause: e });
      throw new ProblemError(
        'image-service-unavailable',
        `the image service failed twice (${reason.slice(0, 200)})`,
        {},
        { 'Retry-After': '2' },
        { cause: e },
      );
    }
    if (!sniffFormat(out.bytes))
      throw new ImageError('undecodable', `the image could not be scaled down: the image service returned ${out.type}`);
    return out.bytes;
  };
}
