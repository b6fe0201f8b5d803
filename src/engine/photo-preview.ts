/**
 * @module engine/photo-preview
 * A photo scaled down to lay an explanation's maps on, with where the chip's pixels fall on it.
 */
import type { Similarity } from '../face/align.js';
import type { RgbImage } from '../image/index.js';
import { warpAffine } from '../image/warp.js';

/** A photo scaled down to at most this side, kept with an explanation to lay its maps on. */
export const PREVIEW_SIDE = 512;

/** The photo (scaled to fit PREVIEW_SIDE) and the chip pixel → preview pixel similarity. */
export interface PhotoPreview {
  image: RgbImage;
  chipToPreview: Similarity;
}

/** `photo` scaled to fit PREVIEW_SIDE, with `chipToPhoto` (in its pixels) carried over. */
export function photoPreview(photo: RgbImage, { a, b, tx, ty }: Similarity): PhotoPreview {
  const k = Math.max(1, Math.max(photo.width, photo.height) / PREVIEW_SIDE);
  return {
    image: warpAffine(photo, [k, 0, 0, 0, k, 0], Math.round(photo.width / k), Math.round(photo.height / k)),
    chipToPreview: { a: a / k, b: b / k, tx: tx / k, ty: ty / k },
  };
}
