/**
 * @module engine/sharper-face
 * Stage two of a photo: a face found on the photo scaled down, that the chip would enlarge,
 * is found again on a sharper decode.
 */
import { type Point, fitSimilarity, similarityScale } from '../face/align.js';
import type { RgbImage } from '../image/index.js';
import { type FoundFace, faceLandmarks } from './faces.js';
import { type Decoded, decode, type ImageLimits, type ImageSource, SHRINK_MARGIN, shrinkSide } from './image-decode.js';
import type { PhotoRunner } from './photo.js';

/**
 * Stage two of a photo: when it was found scaled down and the chip would enlarge the chosen
 * face by more than SHRINK_MARGIN, it is decoded again as sharp as the chip needs and the
 * face's landmarks are found again there. Returns the image to cut the chip from, its
 * scale (photo pixels per pixel) and the face in its pixels.
 */
export async function sharperFace(
  runner: PhotoRunner,
  field: string,
  source: ImageSource,
  limits: ImageLimits,
  found: Decoded,
  face: FoundFace,
  template: Point[],
): Promise<{ img: RgbImage; scale: number; face: FoundFace }> {
  const { image: img } = found;
  const enlarge = similarityScale(fitSimilarity(face.keyPoints, template));
  const side = Math.max(img.width, img.height);
  const stageOne = { img, scale: found.width / img.width, face };
  if (enlarge <= SHRINK_MARGIN || Math.max(found.width, found.height) <= side * SHRINK_MARGIN) return stageOne;
  // Already as sharp as a second decode would be (SHRUNK_SIDE, the decode limit).
  if (shrinkSide(found, Math.ceil(side * enlarge), limits) <= side * SHRINK_MARGIN) return stageOne;
  const finer = await decode(field, source, limits, true, Math.ceil(side * enlarge));
  const k = img.width / finer.image.width;
  if (k >= 1 / SHRINK_MARGIN) return stageOne;
  const box = { x: face.x / k, y: face.y / k, width: face.width / k, height: face.height / k, score: face.score };
  const [again] = await faceLandmarks(runner, finer.image, [box]);
  return { img: finer.image, scale: found.width / finer.image.width, face: again! };
}
