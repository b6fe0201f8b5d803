/**
 * @module engine/inputs
 * The first stage of the verify pipeline: one encoded image → the model's input tensor.
 * `photo` (the default): decode, turn upright by its EXIF orientation, find the faces, take
 * the chosen one (the largest unless the request picks another) and align it onto the
 * model's face chip. `aligned-crop`: the image already is a face crop (padded to a square
 * and resized, as face-api.js feeds the net). Errors are ImageErrors naming the input.
 */
import type { Point, Similarity } from '../face/align.js';
import { ImageError, type RgbImage, decodeImage, toModelInput } from '../image/index.js';
import { exifOrientation, orientUpright } from '../image/orientation.js';
import type { ModelManifest } from '../xfv/manifest.js';
import { inputSpec } from '../xfv/manifest.js';
import type { Engine } from './engine.js';
import { warpAffine } from '../image/warp.js';
import { type FoundFace, alignFace, faceWarnings, findFaces } from './faces.js';

export const INPUT_KINDS = ['photo', 'aligned-crop'] as const;
export type InputKind = (typeof INPUT_KINDS)[number];

/** Which face of a photo to use: by index in `faces`, or the one whose box holds a point. */
export type FaceChoice = { index: number } | { point: Point };

export interface ImageLimits {
  /** Encoded bytes per image (checked by whoever reads the bytes, before reading them). */
  maxImageBytes: number;
  /** Pixels an image header may declare (checked before decoding). */
  maxPixels: number;
}

export interface FaceReport {
  box: { x: number; y: number; width: number; height: number };
  score: number;
  /** Eye corners (image-right eye outer, inner; image-left eye outer, inner) and nose, photo pixels. */
  keyPoints: Point[];
}

/** What was done to an input, reported per image in the response. */
export interface InputReport {
  input: InputKind;
  /** Upright size in pixels. */
  width: number;
  height: number;
  /** EXIF orientation the pixels were turned by (1: none). */
  orientation: number;
  /** Every face found (photo inputs), largest first. */
  faces?: FaceReport[];
  /** Index in `faces` of the face that was verified. */
  face?: number;
  /** Chip pixel → photo pixel: x = a·u − b·v + tx, y = b·u + a·v + ty. */
  chipToPhoto?: Similarity;
  warnings: string[];
}

/** A photo scaled down to at most this side, kept with an explanation to lay its maps on. */
export const PREVIEW_SIDE = 512;

/** The photo (scaled to fit PREVIEW_SIDE) and the chip pixel → preview pixel similarity. */
export interface PhotoPreview {
  image: RgbImage;
  chipToPreview: Similarity;
}

export interface PreparedImage {
  input: Float32Array;
  report: InputReport;
  /** Photo inputs: the photo to lay maps on. */
  preview?: PhotoPreview;
  decodeMs: number;
  detectMs: number;
  preprocessMs: number;
}

export interface PrepareOptions {
  limits: ImageLimits;
  input?: InputKind | undefined;
  face?: FaceChoice | undefined;
  /** Keep a scaled-down photo to lay maps on (explanations). */
  preview?: boolean | undefined;
}

function decode(field: string, bytes: Uint8Array, limits: ImageLimits): RgbImage {
  if (bytes.length === 0) throw new ImageError('undecodable', `image ${field} is empty`, field);
  try {
    return decodeImage(bytes, { maxPixels: limits.maxPixels });
  } catch (e) {
    if (e instanceof ImageError) throw new ImageError(e.kind, `image ${field}: ${e.message}`, field, { cause: e });
    throw e;
  }
}

function choose(field: string, faces: FoundFace[], choice: FaceChoice | undefined): number {
  if (!choice) return 0;
  if ('index' in choice) {
    if (choice.index < faces.length) return choice.index;
    throw new ImageError('no-face', `image ${field} has ${faces.length} face(s); face index ${choice.index} does not exist`, field);
  }
  const { x, y } = choice.point;
  const i = faces.findIndex((f) => x >= f.x && x <= f.x + f.width && y >= f.y && y <= f.y + f.height);
  if (i < 0) throw new ImageError('no-face', `image ${field}: no detected face contains the point (${x}, ${y})`, field);
  return i;
}

const round = (v: number) => Math.round(v * 10) / 10;
const faceReport = (f: FoundFace): FaceReport => ({
  box: { x: round(f.x), y: round(f.y), width: round(f.width), height: round(f.height) },
  score: Math.round(f.score * 1e4) / 1e4,
  keyPoints: f.keyPoints.map((p) => ({ x: round(p.x), y: round(p.y) })),
});

/** One encoded image → model input, by the request's input kind. */
export async function prepareInput(
  engine: Engine,
  field: string,
  bytes: Uint8Array,
  { limits, input = 'photo', face, preview: keepPreview = false }: PrepareOptions,
): Promise<PreparedImage> {
  const { manifest } = engine;
  const spec = inputSpec(manifest);
  const t0 = performance.now();
  const decoded = decode(field, bytes, limits);
  if (input === 'aligned-crop') {
    const t1 = performance.now();
    const x = toModelInput(decoded, spec);
    const report: InputReport = { input, width: decoded.width, height: decoded.height, orientation: 1, warnings: [] };
    return { input: x, report, decodeMs: t1 - t0, detectMs: 0, preprocessMs: performance.now() - t1 };
  }
  const orientation = exifOrientation(bytes);
  const img = orientUpright(decoded, orientation);
  const t1 = performance.now();
  const faces = await findFaces(await engine.photo(), img);
  const t2 = performance.now();
  if (faces.length === 0)
    throw new ImageError('no-face', `image ${field}: no face found (score ≥ ${photoModels(manifest).detector.minScore})`, field);
  const chosen = choose(field, faces, face);
  const aligned = alignFace(img, faces[chosen]!.keyPoints, spec.size, photoModels(manifest).chip.padding);
  const x = toModelInput(aligned.chip, spec);
  const report: InputReport = {
    input,
    width: img.width,
    height: img.height,
    orientation,
    faces: faces.map(faceReport),
    face: chosen,
    chipToPhoto: aligned.toPhoto,
    warnings: faceWarnings(faces[chosen]!),
  };
  const prepared: PreparedImage = { input: x, report, decodeMs: t1 - t0, detectMs: t2 - t1, preprocessMs: 0 };
  if (keepPreview) {
    const k = Math.max(1, Math.max(img.width, img.height) / PREVIEW_SIDE);
    const { a, b, tx, ty } = aligned.toPhoto;
    prepared.preview = {
      image: warpAffine(img, [k, 0, 0, 0, k, 0], Math.round(img.width / k), Math.round(img.height / k)),
      chipToPreview: { a: a / k, b: b / k, tx: tx / k, ty: ty / k },
    };
  }
  prepared.preprocessMs = performance.now() - t2;
  return prepared;
}

function photoModels(manifest: ModelManifest) {
  if (!manifest.photo) throw new Error('the manifest has no photo models');
  return manifest.photo;
}
