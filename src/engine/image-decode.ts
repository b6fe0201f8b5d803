/**
 * @module engine/image-decode
 * How an encoded image is decoded for the pipeline, within the deployment's limits: upright
 * by its EXIF orientation, whole in this isolate when it is small enough, else scaled down
 * first by an ImageShrinker (the Worker: wasm JPEG decoders or the image service), so a
 * phone-size photo is never decoded whole here.
 */
import { type ImageHeader, ImageError, type RgbImage, decodeImage, readHeader } from '../image/index.js';
import type { ShrinkTarget } from '../image/jpeg-wasm.js';
import { exifOrientation, orientUpright } from '../image/orientation.js';
import { releaseBuffer } from '../release.js';

/**
 * Scales an encoded image down to the given width or height (the other side keeps the
 * aspect ratio) without decoding it whole in this isolate (the Worker: in the photo-models
 * Worker, a JPEG by a wasm decoder at a DCT scale, anything else by the Images binding), and
 * returns its pixels. They keep their stored orientation (EXIF is applied afterwards).
 * `header` is what the upload's head declared (already checked against the limits).
 */
export type ImageShrinker = ((
  image: ImageSource,
  target: ShrinkTarget,
  header: ImageHeader,
  options?: ShrinkOptions,
) => Promise<RgbImage>) & {
  /**
   * Whether this image is decoded at the nearest DCT scale at or above the side asked for
   * (the photo-models Worker's libjpeg-turbo, image/jpeg-scaled): a photo is then sent to
   * it even when it is small enough to decode here (it decodes faster), and it may come
   * back larger than asked, up to `atMost`.
   */
  scales?: (header: ImageHeader, bytes: number) => boolean;
};

/** What a shrinker is also told: the longest side the caller accepts (≥ the target), and the upload's size. */
export interface ShrinkOptions {
  atMost?: number | undefined;
  bytes?: number | undefined;
}

/**
 * An encoded image: bytes, or a Blob (an uploaded File) that is read only as far as needed:
 * its head for the header and EXIF, the rest only when it is decoded here, so a phone-size
 * upload streams to the image service without entering the isolate's heap.
 */
export type ImageSource = Uint8Array | Blob;

/** Bytes read from a Blob to find its header and EXIF orientation (JPEG APP segments are ≤ 64 KB each). */
export const HEAD_BYTES = 512 * 1024;

export interface ImageLimits {
  /** Encoded bytes per image (checked by whoever reads the bytes, before reading them). */
  maxImageBytes: number;
  /** Pixels an image header may declare (checked before anything is decoded; above: 413). */
  maxPixels: number;
  /** Pixels decoded whole in this isolate; larger images are shrunk first (or refused without `shrink`). */
  maxDecodePixels: number;
  /** How images over `maxDecodePixels` are scaled down before decoding. */
  shrink?: ImageShrinker | undefined;
  /**
   * Runs one photo's decode, detection and alignment; the Worker bounds how many run at
   * once in an isolate (worker/admission, PHOTO_CONCURRENCY). Absent: at once.
   */
  photoWork?: (<T>(task: () => Promise<T>) => Promise<T>) | undefined;
}

/** The longest side a photo is scaled down to (detection runs at 512, the chip is 150). */
export const SHRUNK_SIDE = 1600;

/**
 * Photos are first decoded at this longer side (scaled down by the image service; the
 * scaled JPEG decoder gives the nearest DCT scale at or above it) to find the faces: the
 * detector's input is 512. A face that the chip would enlarge from
 * there by more than SHRINK_MARGIN is decoded again, only as sharp as the chip needs.
 */
export const DETECT_SIDE = 640;

/** An image is only scaled down first when that shrinks its longer side by more than this factor. */
export const SHRINK_MARGIN = 1.25;

/** An image decoded upright, and the photo's size as sent. */
export interface Decoded {
  /** Upright pixels. */
  image: RgbImage;
  /** Upright size of the photo as sent. */
  width: number;
  height: number;
  orientation: number;
}

const swapsSides = (orientation: number) => orientation >= 5 && orientation <= 8;

/**
 * Decode an image upright (photos: by their EXIF orientation). Headers over `maxPixels`
 * are refused before anything else. An image is decoded whole here when it is within
 * `maxDecodePixels` and not much larger than `wantSide` (its longer side); otherwise, with
 * a `shrink`, it is scaled down to `wantSide` (at most SHRUNK_SIDE and the decode limit)
 * before it reaches this isolate, never decoded whole here. A photo the shrinker decodes
 * at a DCT scale itself (`scales`) always goes to it, and may come back larger than
 * `wantSide`, up to what the limits allow.
 */
export async function decode(
  field: string,
  source: ImageSource,
  limits: ImageLimits,
  upright: boolean,
  wantSide = Infinity,
): Promise<Decoded> {
  const size = source instanceof Blob ? source.size : source.length;
  if (size === 0) throw new ImageError('undecodable', `image ${field} is empty`, field);
  try {
    const head = source instanceof Blob ? new Uint8Array(await source.slice(0, HEAD_BYTES).arrayBuffer()) : source;
    const header = readHeader(head, { maxPixels: limits.maxPixels });
    const orientation = upright ? exifOrientation(head) : 1;
    const [width, height] = swapsSides(orientation) ? [header.height, header.width] : [header.width, header.height];
    const pixels = header.width * header.height;
    const long = Math.max(header.width, header.height);
    const scaled = wantSide < Infinity && limits.shrink?.scales?.(header, size) === true;
    const worthShrinking = limits.shrink !== undefined && (scaled || long > wantSide * SHRINK_MARGIN);
    if (pixels <= limits.maxDecodePixels && !worthShrinking) {
      const bytes = source instanceof Blob ? new Uint8Array(await source.arrayBuffer()) : source;
      const stored = decodeImage(bytes, { maxPixels: limits.maxPixels });
      const image = orientUpright(stored, orientation);
      if (image.data !== stored.data) releaseBuffer(stored.data);
      return { image, width, height, orientation };
    }
    if (!limits.shrink) {
      throw new ImageError(
        'too-large',
        `image is ${header.width}×${header.height} (${pixels} pixels); images over ${limits.maxDecodePixels} pixels need an image service to scale them down, and none is configured`,
      );
    }
    const side = shrinkSide(header, wantSide, limits);
    const atMost = scaled ? shrinkSide(header, Infinity, limits) : side;
    const target = header.width >= header.height ? { width: side } : { height: side };
    const small = await limits.shrink(source, target, header, { atMost });
    // (+ atMost: the service may round the short side up by a row.)
    if (small.width * small.height > limits.maxDecodePixels + atMost || Math.max(small.width, small.height) > atMost + 1)
      throw new ImageError('undecodable', `the image service returned ${small.width}×${small.height} for a longer side of ${side}`);
    // A service that already applied the EXIF orientation returns the sides swapped.
    const turned = swapsSides(orientation) && small.width > small.height !== header.width > header.height;
    const image = turned ? small : orientUpright(small, orientation);
    if (image.data !== small.data) releaseBuffer(small.data);
    return { image, width, height, orientation };
  } catch (e) {
    if (e instanceof ImageError) throw new ImageError(e.kind, `image ${field}: ${e.message}`, field, { cause: e });
    throw e;
  }
}

/** The longer side an image is shrunk to for `wantSide`: at most SHRUNK_SIDE and what the decode limit allows. */
export function shrinkSide({ width, height }: { width: number; height: number }, wantSide: number, limits: ImageLimits): number {
  const [long, short] = [Math.max(width, height), Math.min(width, height)];
  return Math.round(Math.min(wantSide, SHRUNK_SIDE, Math.floor(Math.sqrt((limits.maxDecodePixels * long) / short))));
}
