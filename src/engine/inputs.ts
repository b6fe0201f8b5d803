/**
 * @module engine/inputs
 * The first stage of the verify pipeline: one encoded image → the model's input tensor.
 * `photo` (the default): decode, turn upright by its EXIF orientation, find the faces, take
 * the chosen one (the largest unless the request picks another) and align it onto the
 * model's face chip. `aligned-crop`: the image already is a face crop (padded to a square
 * and resized, as face-api.js feeds the net). Errors are ImageErrors naming the input.
 * The steps live beside it: decoding within the limits (engine/image-decode), the face
 * choice (engine/face-choice), the sharper second decode (engine/sharper-face) and the
 * preview maps are laid on (engine/photo-preview).
 */
import type { Similarity } from '../face/align.js';
import { chipTemplate } from '../face/align.js';
import { ImageError, toModelInput } from '../image/index.js';
import { releaseBuffer } from '../release.js';
import type { ModelManifest } from '../xfv/manifest.js';
import { inputSpec } from '../xfv/manifest.js';
import type { Engine } from './engine.js';
import { type FaceChoice, type FaceReport, choose, chosenIndex, faceReport } from './face-choice.js';
import { alignFace, faceWarnings, findFaces } from './faces.js';
import { DETECT_SIDE, decode, type ImageLimits, type ImageSource } from './image-decode.js';
import { type NetTimes, timedRunner } from './photo.js';
import type { PhotoPreview } from './photo-preview.js';
import { photoPreview } from './photo-preview.js';
import { sharperFace } from './sharper-face.js';

export const INPUT_KINDS = ['photo', 'aligned-crop'] as const;
export type InputKind = (typeof INPUT_KINDS)[number];

/** What was done to an input, reported per image in the response. */
export interface InputReport {
  input: InputKind;
  /** Upright size in pixels. */
  width: number;
  height: number;
  /** EXIF orientation the pixels were turned by (1: none). */
  orientation: number;
  /** Photo pixels per decoded pixel: above 1 when a large image was decoded scaled down. Coordinates are photo pixels. */
  scale: number;
  /** Every face found (photo inputs), largest first. */
  faces?: FaceReport[];
  /** Index in `faces` of the face that was verified. */
  face?: number;
  /** Chip pixel → photo pixel: x = a·u − b·v + tx, y = b·u + a·v + ty. */
  chipToPhoto?: Similarity;
  /** The detector input side the faces were found at: the tiny pass's (352), the SSD's quick pass's (320) or its full one's (512). */
  detectorSize?: number;
  warnings: string[];
}

export interface PreparedImage {
  input: Float32Array;
  report: InputReport;
  /** Photo inputs: the photo to lay maps on. */
  preview?: PhotoPreview;
  /** Decoding (both stages) and the steps between the nets (box decoding, crops). */
  decodeMs: number;
  /** The face detector's runs. */
  detectMs: number;
  /** The landmark net's runs (both stages). */
  landmarksMs: number;
  /** Alignment and the model tensor (photos), or padding and resizing (crops). */
  preprocessMs: number;
}

export interface PrepareOptions {
  limits: ImageLimits;
  input?: InputKind | undefined;
  face?: FaceChoice | undefined;
  /** Keep a scaled-down photo to lay maps on (explanations). */
  preview?: boolean | undefined;
}

/** One encoded image → model input, by the request's input kind (photos in a photo slot). */
export function prepareInput(engine: Engine, field: string, source: ImageSource, options: PrepareOptions): Promise<PreparedImage> {
  const { photoWork } = options.limits;
  if ((options.input ?? 'photo') === 'photo' && photoWork) return photoWork(() => prepare(engine, field, source, options));
  return prepare(engine, field, source, options);
}

async function prepare(
  engine: Engine,
  field: string,
  source: ImageSource,
  { limits, input = 'photo', face, preview: keepPreview = false }: PrepareOptions,
): Promise<PreparedImage> {
  const { manifest } = engine;
  const spec = inputSpec(manifest);
  const t0 = performance.now();
  const decoded = await decode(field, source, limits, input === 'photo', input === 'photo' ? DETECT_SIDE : Infinity);
  const { image: img, orientation } = decoded;
  const scale = decoded.width / img.width;
  const t1 = performance.now();
  if (input === 'aligned-crop') {
    const x = toModelInput(img, spec);
    const report: InputReport = { input, width: decoded.width, height: decoded.height, orientation, scale, warnings: [] };
    return { input: x, report, decodeMs: t1 - t0, detectMs: 0, landmarksMs: 0, preprocessMs: performance.now() - t1 };
  }
  const nets: NetTimes = { detectMs: 0, landmarksMs: 0 };
  const runner = timedRunner(await engine.photo(), nets);
  const { chip: chipSpec, detector: detectorSpec } = photoModels(manifest);
  // The quick detector's faces stand only if they hold the face the request asks for.
  const { faces, detectorSize } = await findFaces(runner, img, (found) => chosenIndex(found, face, scale) >= 0);
  if (faces.length === 0) throw new ImageError('no-face', `image ${field}: no face found (score ≥ ${detectorSpec.minScore})`, field);
  const chosen = choose(field, faces, face, scale);
  const sharp = await sharperFace(runner, field, source, limits, decoded, faces[chosen]!, chipTemplate(spec.size, chipSpec.padding));
  const t3 = performance.now();
  const aligned = alignFace(sharp.img, sharp.face.keyPoints, spec.size, chipSpec.padding);
  const x = toModelInput(aligned.chip, spec);
  const { a, b, tx, ty } = aligned.toPhoto;
  const s2 = sharp.scale;
  const report: InputReport = {
    input,
    width: decoded.width,
    height: decoded.height,
    orientation,
    scale: s2,
    faces: faces.map((f) => faceReport(f, scale)),
    face: chosen,
    chipToPhoto: { a: a * s2, b: b * s2, tx: tx * s2, ty: ty * s2 },
    detectorSize,
    warnings: faceWarnings(faces[chosen]!),
  };
  const prepared: PreparedImage = { input: x, report, decodeMs: t3 - t0 - nets.detectMs - nets.landmarksMs, ...nets, preprocessMs: 0 };
  if (keepPreview) prepared.preview = photoPreview(sharp.img, aligned.toPhoto);
  // The decoded photo (one or two stages) is not needed past its chip and preview.
  for (const pixels of new Set([img.data, sharp.img.data])) releaseBuffer(pixels);
  prepared.preprocessMs = performance.now() - t3;
  return prepared;
}

function photoModels(manifest: ModelManifest) {
  if (!manifest.photo) throw new Error('the manifest has no photo models');
  return manifest.photo;
}
