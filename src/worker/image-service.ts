/**
 * @module worker/image-service
 * Scaling a photo down before this isolate decodes it, as the engine's ImageShrinker. A
 * phone-size photo streams to Cloudflare's image service (the Images binding; locally
 * miniflare's, built on sharp) and comes back as a small PNG, so the isolate never holds
 * the whole decoded image. With the photo-models Worker bound, the call is made there
 * (`shrinkOnce` over RPC): the upload then streams to it natively, the binding's own
 * chunk-by-chunk copy of the upload is garbage in that isolate, not in this one, and a JPEG
 * is decoded there in wasm instead, at the nearest DCT scale at or above the side wanted
 * (`decodeScaled`, libjpeg-turbo), or, when that decoder warned, whole and shrunk
 * (`decodeAndShrink`, MozJPEG, for a JPEG of a few MP): faster than the service's round
 * trip, and no transform to pay for. What cannot be read (an
 * ImagesError, with its numeric code, or the wasm decoder's refusal) becomes an
 * `undecodable` ImageError (422); the service itself failing (a lost connection, no
 * answer) is tried once more, then a 503 `image-service-unavailable` with Retry-After:
 * the image was not at fault.
 */
import type { ImageShrinker, ShrinkOptions } from '../engine/image-decode.js';
import { ImageError, type ImageHeader, type RgbImage, decodeImage, sniffFormat } from '../image/index.js';
import { type ScaledJpegDecoder, eighthsFor } from '../image/jpeg-scaled.js';
import { type ShrinkTarget, type WasmJpegDecoder, decodesInWasm, shrinkTo, sideOf } from '../image/jpeg-wasm.js';
import { ProblemError } from '../problems/problem.js';

export type { ShrinkTarget };

/** One scaling attempt: the service's PNG, or pixels decoded and shrunk in wasm, or why not (an input error is the image's fault). */
export type ShrinkOutcome =
  | { ok: true; bytes: Uint8Array; type: string }
  | { ok: true; image: RgbImage }
  | { ok: false; inputError: boolean; reason: string };

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

/** One attempt by the wasm decoder: the JPEG read whole (image/jpeg-wasm `decodesInWasm` bounds it), decoded, area-averaged down. */
export async function decodeAndShrink(
  decoder: WasmJpegDecoder,
  image: ReadableStream<Uint8Array>,
  target: ShrinkTarget,
): Promise<ShrinkOutcome> {
  try {
    const bytes = new Uint8Array(await new Response(image).arrayBuffer());
    return { ok: true, image: shrinkTo(await decoder.decode(bytes), target) };
  } catch (e) {
    return { ok: false, inputError: e instanceof ImageError, reason: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * A JPEG decoded straight to the nearest m/8 of its size at or above `target`, then shrunk
 * to the target only if its longer side would pass `atMost` (the caller's limit; never
 * below the target's side, which is all an older caller that sends none accepts); `null`
 * when libjpeg-turbo warned or failed: another decoder then judges the file.
 */
export function decodeScaled(
  decoder: ScaledJpegDecoder,
  bytes: Uint8Array,
  header: ImageHeader,
  target: ShrinkTarget,
  atMost: number | undefined,
): RgbImage | null {
  const eighths = 'width' in target ? eighthsFor(header.width, target.width) : eighthsFor(header.height, target.height);
  const image = decoder.decode(bytes, eighths);
  if (!image || Math.max(image.width, image.height) <= Math.max(atMost ?? 0, sideOf(target))) return image;
  return shrinkTo(image, target, header);
}

/** The photo-models Worker's two wasm JPEG decoders: libjpeg-turbo at a DCT scale first, MozJPEG whole when that one warned. */
export interface JpegDecoders {
  scaled: ScaledJpegDecoder;
  whole: WasmJpegDecoder;
}

/**
 * One attempt at a JPEG that the scaled decoder takes (image/jpeg-scaled `scalesJpeg`):
 * decoded at a DCT scale (`decodeScaled`); a file it warned about goes where it went
 * before, whole to MozJPEG when that can hold it (which names what is wrong: a file cut
 * short is an input error), else to `otherwise` (the image service).
 */
export async function decodeJpeg(
  decoders: JpegDecoders,
  image: ReadableStream<Uint8Array>,
  header: ImageHeader,
  target: ShrinkTarget,
  atMost: number | undefined,
  otherwise: (image: ReadableStream<Uint8Array>) => Promise<ShrinkOutcome>,
): Promise<ShrinkOutcome> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = new Uint8Array(await new Response(image).arrayBuffer());
  } catch (e) {
    return { ok: false, inputError: false, reason: e instanceof Error ? e.message : String(e) };
  }
  const scaled = decodeScaled(decoders.scaled, bytes, header, target, atMost);
  if (scaled) return { ok: true, image: scaled };
  const again = new Blob([bytes]).stream();
  return decodesInWasm(header) ? decodeAndShrink(decoders.whole, again, target) : otherwise(again);
}

/**
 * Something that makes one scaling attempt: the Images binding here, or the photo-models
 * Worker (which also has the wasm decoder; `header` says whether it applies).
 */
export type ShrinkAttempt = (
  image: ReadableStream<Uint8Array>,
  target: ShrinkTarget,
  header: ImageHeader,
  options: ShrinkOptions,
) => Promise<ShrinkOutcome>;

/**
 * An ImageShrinker over scaling attempts (a failed service is tried twice); `undefined`
 * without one. `scales`: which images the attempts decode at a DCT scale themselves (the
 * photo-models Worker's libjpeg-turbo: image/jpeg-scaled `scalesJpeg`).
 */
export function imagesShrinker(
  attempt: ShrinkAttempt | undefined,
  scales?: (header: ImageHeader, bytes: number) => boolean,
): ImageShrinker | undefined {
  if (!attempt) return undefined;
  const shrink: ImageShrinker = async (image, target, header, options) => {
    const blob = image instanceof Blob ? image : new Blob([image as Uint8Array<ArrayBuffer>]);
    const once = () =>
      attempt(blob.stream(), target, header, { ...options, bytes: blob.size }).catch(
        (e: unknown): ShrinkOutcome => ({ ok: false, inputError: false, reason: String(e) }),
      );
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
    if ('image' in out) return out.image;
    if (!sniffFormat(out.bytes))
      throw new ImageError('undecodable', `the image could not be scaled down: the image service returned ${out.type}`);
    // Our own service's answer: no deflate-bomb pass, but never more pixels than asked for.
    const side = sideOf(target);
    return decodeImage(out.bytes, { maxPixels: (side + 1) * (side + 1), minSide: 1, trusted: true });
  };
  if (scales) shrink.scales = scales;
  return shrink;
}
