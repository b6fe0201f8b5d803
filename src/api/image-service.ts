/**
 * @module api/image-service
 * The Images binding as the engine's ImageShrinker: a phone-size photo streams to
 * Cloudflare's image service (locally: miniflare's, built on sharp) and comes back as a
 * small PNG, so the isolate never holds the whole decoded image. With the photo-models
 * Worker bound, the call is made there (`shrinkOnce` over RPC): the upload then streams
 * to it natively, and the binding's own chunk-by-chunk copy of the upload is garbage in
 * that isolate, not in this one. What the service cannot read (an ImagesError, with its
 * numeric code) becomes an `undecodable` ImageError (422); the service itself failing (a
 * lost connection, no answer) is tried once more, then a 503 `image-service-unavailable`
 * with Retry-After: the image was not at fault.
 */
import type { ImageShrinker } from '../engine/inputs.js';
import { ImageError, sniffFormat } from '../image/index.js';
import { ProblemError } from './problem.js';

export type ShrinkTarget = { width: number } | { height: number };

/** One scaling attempt: the PNG, or why not (an input error is the image's fault). */
export type ShrinkOutcome = { ok: true; bytes: Uint8Array; type: string } | { ok: false; inputError: boolean; reason: string };

/** One attempt at scaling an encoded image down with an Images binding. */
export async function shrinkOnce(images: ImagesBinding, image: ReadableStream<Uint8Array>, target: ShrinkTarget): Promise<ShrinkOutcome> {
  try {
    const result = await images
      .input(image)
      .transform({ ...target, fit: 'scale-down' })
      .output({ format: 'image/png' });
    return { ok: true, bytes: new Uint8Array(await result.response().arrayBuffer()), type: result.contentType() };
  } catch (e) {
    // The Images binding rejects an input with an ImagesError carrying a numeric code.
    const inputError = e instanceof Error && typeof (e as { code?: unknown }).code === 'number';
    return { ok: false, inputError, reason: e instanceof Error ? e.message : String(e) };
  }
}

/** Something that makes one scaling attempt: the Images binding here, or the photo-models Worker. */
export type ShrinkAttempt = (image: ReadableStream<Uint8Array>, target: ShrinkTarget) => Promise<ShrinkOutcome>;

/** An ImageShrinker over scaling attempts (a failed service is tried twice); `undefined` without one. */
export function imagesShrinker(attempt: ShrinkAttempt | undefined): ImageShrinker | undefined {
  if (!attempt) return undefined;
  return async (image, target) => {
    const blob = image instanceof Blob ? image : new Blob([image as Uint8Array<ArrayBuffer>]);
    const once = () =>
      attempt(blob.stream(), target).catch((e: unknown): ShrinkOutcome => ({ ok: false, inputError: false, reason: String(e) }));
    let out = await once();
    if (!out.ok && !out.inputError) out = await once();
    if (!out.ok) {
      if (out.inputError) throw new ImageError('undecodable', `the image could not be scaled down: ${out.reason}`);
      throw new ProblemError(
        'image-service-unavailable',
        `the image service failed twice (${out.reason.slice(0, 200)})`,
        {},
        { 'Retry-After': '2' },
      );
    }
    if (!sniffFormat(out.bytes))
      throw new ImageError('undecodable', `the image could not be scaled down: the image service returned ${out.type}`);
    return out.bytes;
  };
}
