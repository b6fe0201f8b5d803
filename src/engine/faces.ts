/**
 * @module engine/faces
 * From an upright photo to an aligned face chip: the detector on the photo scaled to fit
 * its input — quick passes first (the Tiny Face Detector on a frame of the photo's aspect
 * ratio, the SSD on a small square), the full SSD when their faces cannot stand; the SSD's
 * squares padded bottom/right, as face-api does — box decoding and NMS (src/face/ssd,
 * src/face/tiny), 68 landmarks per face on its box padded to a square (as face-api crops it),
 * the five template points, and the similarity warp onto dlib's 150×150 chip (src/face/align,
 * anti-aliased when shrinking: src/image/warp). Landmarks can be found again for a face on
 * a sharper copy of the photo (engine/inputs: the two-stage decode of large photos).
 */
import { type Point, type Similarity, chipTemplate, fitSimilarity, fivePoints, invertSimilarity } from '../face/align.js';
import { type ScoredBox, decodeSsd, nonMaxSuppression } from '../face/ssd.js';
import type { RgbImage } from '../image/decode.js';
import { type Affine, scaledPlanar, warpAffine } from '../image/warp.js';
import type { DetectPass, DetectShape, DetectorOutput, PhotoRunner } from './photo.js';
import { TINY_ANCHORS, decodeTiny } from '../face/tiny.js';
import { releaseBuffer } from '../release.js';

export interface FoundFace extends ScoredBox {
  /** The five template points (eye corners, nose), photo pixels. */
  keyPoints: Point[];
  /** All 68 iBUG landmarks, photo pixels. */
  landmarks: Point[];
}

/** At most this many faces (the largest) are kept, each with its landmarks. */
export const MAX_FACES = 16;

/** Planar float32 [3,H,W] of an RGB image's pixel values (0…255). */
function toPlanar(img: RgbImage): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) out[c * n + p] = img.data[3 * p + c]!;
  return out;
}

/** The detector's input: the photo scaled to fit s×s (anti-aliased), padded bottom/right, planar 0…255. */
export function detectorInput(img: RgbImage, s: number): Float32Array {
  return scaledPlanar(img, Math.max(img.width, img.height) / s, s);
}

/**
 * The tiny detector's input frame for a photo: its longer side `s`, the shorter one the
 * photo's scaled to it, rounded up to a multiple of 32 (one grid cell; the net is fully
 * convolutional). A portrait thus skips most of the black band face-api pads to a square
 * (a 3:5 photo at 352: 224×352, 0.64 of the square's work); the cells over the photo see the same pixels.
 */
export function detectorFrame(img: RgbImage, s: number): DetectShape {
  const k = Math.max(img.width, img.height) / s;
  const side = (n: number) => Math.min(s, 32 * Math.max(1, Math.ceil(n / k / 32 - 1e-9)));
  return { height: side(img.height), width: side(img.width) };
}

/** The tiny detector's input: the photo scaled onto its `detectorFrame`, planar 0…255 (padded bottom/right), and that frame. */
export function detectorFrameInput(img: RgbImage, s: number): { x: Float32Array; frame: DetectShape } {
  const frame = detectorFrame(img, s);
  return { x: scaledPlanar(img, Math.max(img.width, img.height) / s, frame.width, frame.height), frame };
}

export interface FoundFaces {
  /** Largest first, each with its landmarks. */
  faces: FoundFace[];
  /** The detector input the faces were found at (the quick pass's, or the full one's). */
  detectorSize: number;
}

/** The share of the smaller box that two boxes have in common. */
function overlapOfSmaller(a: ScoredBox, b: ScoredBox): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w <= 0 || h <= 0 ? 0 : (w * h) / Math.min(a.width * a.height, b.width * b.height);
}

/**
 * Faces in `img`. The first passes (the tiny detector, then the SSD on a small input: those
 * the runner has) run in turn, and a pass's faces stand when there is at least one, each
 * scores ≥ its trustScore and is at least minFaceRatio of the photo's longer side, no two
 * of them share more than half of the smaller (two boxes on one face: a face filling the
 * frame), and `enough` (the caller's face choice) is met by them; when none stands, the
 * full detector runs. A face smaller than that beside large, confident ones may thus go
 * unlisted: the price of the first passes (docs/photos.md).
 */
export async function findFaces(
  runner: PhotoRunner,
  img: RgbImage,
  enough: (faces: ScoredBox[]) => boolean = () => true,
): Promise<FoundFaces> {
  const side = Math.max(img.width, img.height);
  for (const pass of runner.passes) {
    if (pass === 'full') break;
    const spec = pass === 'tiny' ? runner.models.tinyDetector : runner.models.quickDetector;
    if (!spec) continue;
    const found = await detectFaces(runner, img, pass);
    const trusted =
      found.every((f) => f.score >= spec.trustScore && Math.max(f.width, f.height) >= spec.minFaceRatio * side) &&
      found.every((f, i) => found.slice(i + 1).every((g) => overlapOfSmaller(f, g) <= 0.5));
    if (found.length > 0 && trusted && enough(found)) return { faces: await faceLandmarks(runner, img, found), detectorSize: spec.size };
  }
  const found = await detectFaces(runner, img, 'full');
  return { faces: await faceLandmarks(runner, img, found), detectorSize: runner.models.detector.size };
}

/** One pass's decoded boxes and scores for a detector input of side `s`. */
function decodePass(runner: PhotoRunner, pass: DetectPass, raw: DetectorOutput): { boxes: Float32Array; scores: Float32Array } {
  if ('grid' in raw) return decodeTiny(raw.grid, TINY_ANCHORS, raw.rows && raw.cols ? { rows: raw.rows, cols: raw.cols } : undefined);
  return decodeSsd(raw.boxes, raw.classes, pass === 'quick' ? runner.quickPriors! : runner.priors);
}

async function detectFaces(runner: PhotoRunner, img: RgbImage, pass: DetectPass): Promise<ScoredBox[]> {
  const { models } = runner;
  const spec = (pass === 'tiny' && models.tinyDetector) || (pass === 'quick' && models.quickDetector) || models.detector;
  const iouThreshold = 'iouThreshold' in spec ? spec.iouThreshold : undefined;
  const side = Math.max(img.width, img.height);
  const { x, frame } = pass === 'tiny' ? detectorFrameInput(img, spec.size) : { x: detectorInput(img, spec.size), frame: undefined };
  const raw = await (frame ? runner.detect(x, pass, frame) : runner.detect(x, pass)).finally(() => releaseBuffer(x));
  const { boxes, scores } = decodePass(runner, pass, raw);
  const kept = nonMaxSuppression(boxes, scores, { minScore: spec.minScore, ...(iouThreshold ? { iouThreshold } : {}) });
  const found: ScoredBox[] = kept.map((i) => {
    const [y0, x0, y1, x1] = [boxes[4 * i]!, boxes[4 * i + 1]!, boxes[4 * i + 2]!, boxes[4 * i + 3]!].map(
      (v) => Math.min(Math.max(v, 0), 1) * side,
    );
    const x = Math.min(x0!, img.width);
    const y = Math.min(y0!, img.height);
    return { x, y, width: Math.min(x1!, img.width) - x, height: Math.min(y1!, img.height) - y, score: scores[i]! };
  });
  found.sort((a, b) => b.width * b.height - a.width * a.height);
  return found.slice(0, MAX_FACES).filter((b) => b.width >= 1 && b.height >= 1);
}

/** The 68 landmarks (and five key points) of each box in `img`, in one batch. */
export async function faceLandmarks(runner: PhotoRunner, img: RgbImage, boxes: ScoredBox[]): Promise<FoundFace[]> {
  const l = runner.models.landmarks.size;
  const squares = boxes.map((b) => {
    const sq = Math.max(b.width, b.height);
    return { x: b.x - (sq - b.width) / 2, y: b.y - (sq - b.height) / 2, side: sq };
  });
  const inputs = boxes.map((b, i) => {
    const sq = squares[i]!;
    const m = sq.side / l;
    const face = warpAffine(img, [m, 0, sq.x, 0, m, sq.y], l, l);
    // face-api crops the box and pads it with black: blank what lies outside the box.
    const [u0, u1] = [(b.x - sq.x) / m, (b.x + b.width - sq.x) / m];
    const [v0, v1] = [(b.y - sq.y) / m, (b.y + b.height - sq.y) / m];
    for (let v = 0; v < l; v++)
      for (let u = 0; u < l; u++)
        if (u + 0.5 < u0 || u + 0.5 > u1 || v + 0.5 < v0 || v + 0.5 > v1) face.data.fill(0, (v * l + u) * 3, (v * l + u) * 3 + 3);
    return toPlanar(face);
  });
  const relative = await runner.landmarks(inputs);
  return boxes.map((b, i) => {
    const sq = squares[i]!;
    const r = relative[i]!;
    const landmarks = Array.from({ length: r.length / 2 }, (_, j) => ({
      x: sq.x + r[2 * j]! * sq.side,
      y: sq.y + r[2 * j + 1]! * sq.side,
    }));
    return { ...b, landmarks, keyPoints: fivePoints(landmarks) };
  });
}

export interface AlignedFace {
  chip: RgbImage;
  /** Photo pixel → chip pixel. */
  toChip: Similarity;
  /** Chip pixel → photo pixel (to place maps on the photo). */
  toPhoto: Similarity;
}

/** The `size`×`size` chip of a face: its key points mapped onto dlib's template. */
export function alignFace(img: RgbImage, keyPoints: Point[], size: number, padding: number): AlignedFace {
  const toChip = fitSimilarity(keyPoints, chipTemplate(size, padding));
  const toPhoto = invertSimilarity(toChip);
  const map: Affine = [toPhoto.a, -toPhoto.b, toPhoto.tx, toPhoto.b, toPhoto.a, toPhoto.ty];
  return { chip: warpAffine(img, map, size, size), toChip, toPhoto };
}

/** Why a face may verify poorly: too small in the photo, or turned far to one side. */
export function faceWarnings(face: FoundFace): string[] {
  const warnings: string[] = [];
  const [r0, r1, l0, l1, nose] = face.keyPoints as [Point, Point, Point, Point, Point];
  const eyes = { x: (r0.x + r1.x + l0.x + l1.x) / 4, y: (r0.y + r1.y + l0.y + l1.y) / 4 };
  const interocular = Math.hypot((r0.x + r1.x - l0.x - l1.x) / 2, (r0.y + r1.y - l0.y - l1.y) / 2);
  if (Math.min(face.width, face.height) < 48)
    warnings.push(`face is small (${Math.round(face.width)}×${Math.round(face.height)} px); details below the model's resolution are lost`);
  if (interocular > 0 && Math.abs(nose.x - eyes.x) / interocular > 0.35)
    warnings.push('face is turned strongly to one side (yaw); verification is less reliable');
  return warnings;
}
