/**
 * @module engine/inputs
 * The first stage of the verify pipeline: one encoded image → the model's input tensor.
 * `photo` (the default): decode, turn upright by its EXIF orientation, find the faces, take
 * the chosen one (the largest unless the request picks another) and align it onto the
 * model's face chip. `aligned-crop`: the image already is a face crop (padded to a square
 * and resized, as face-api.js feeds the net). Errors are ImageErrors naming the input.
 */
import { type Point, type Similarity, chipTemplate, fitSimilarity, similarityScale } from '../face/align.js';
import { type ImageHeader, ImageError, type RgbImage, decodeImage, readHeader, toModelInput } from '../image/index.js';
import type { ShrinkTarget } from '../image/jpeg-wasm.js';
import { exifOrientation, orientUpright } from '../image/orientation.js';
import type { ModelManifest } from '../xfv/manifest.js';
import { inputSpec } from '../xfv/manifest.js';
import type { Engine } from './engine.js';
import { type NetTimes, type PhotoRunner, timedRunner } from './photo.js';
import { warpAffine } from '../image/warp.js';
import { releaseBuffer } from '../release.js';
import type { Box } from '../face/ssd.js';
import { type FoundFace, alignFace, faceLandmarks, faceWarnings, findFaces } from './faces.js';

export const INPUT_KINDS = ['photo', 'aligned-crop'] as const;
export type InputKind = (typeof INPUT_KINDS)[number];

/** Which face of a photo to use: by index in `faces`, or the one whose box holds a point. */
export type FaceChoice = { index: number } | { point: Point };

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
   * once in an isolate (api/admission, PHOTO_CONCURRENCY). Absent: at once.
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
const SHRINK_MARGIN = 1.25;

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
  /** Photo pixels per decoded pixel: above 1 when a large image was decoded scaled down. Coordinates are photo pixels. */
  scale: number;
  /** Every face found (photo inputs), largest first. */
  faces?: FaceReport[];
  /** Index in `faces` of the face that was verified. */
  face?: number;
  /** Chip pixel → photo pixel: x = a·u − b·v + tx, y = b·u + a·v + ty. */
  chipToPhoto?: Similarity;
  /** The detector input side the faces were found at: the quick pass's (320) or the full one's (512). */
  detectorSize?: number;
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

interface Decoded {
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
async function decode(field: string, source: ImageSource, limits: ImageLimits, upright: boolean, wantSide = Infinity): Promise<Decoded> {
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
function shrinkSide({ width, height }: { width: number; height: number }, wantSide: number, limits: ImageLimits): number {
  const [long, short] = [Math.max(width, height), Math.min(width, height)];
  return Math.round(Math.min(wantSide, SHRUNK_SIDE, Math.floor(Math.sqrt((limits.maxDecodePixels * long) / short))));
}

/** The chosen face's index in `faces`, or −1 when the choice names none of them. */
function chosenIndex(faces: Box[], choice: FaceChoice | undefined, scale: number): number {
  if (!choice) return faces.length > 0 ? 0 : -1;
  if ('index' in choice) return choice.index < faces.length ? choice.index : -1;
  const [x, y] = [choice.point.x / scale, choice.point.y / scale];
  return faces.findIndex((f) => x >= f.x && x <= f.x + f.width && y >= f.y && y <= f.y + f.height);
}

/** The chosen face's index in `faces` (at least one), or 422 no-face naming what was asked. */
function choose(field: string, faces: FoundFace[], choice: FaceChoice | undefined, scale: number): number {
  const i = chosenIndex(faces, choice, scale);
  if (i >= 0) return i;
  if (choice && 'point' in choice)
    throw new ImageError('no-face', `image ${field}: no detected face contains the point (${choice.point.x}, ${choice.point.y})`, field);
  throw new ImageError('no-face', `image ${field} has ${faces.length} face(s); face index ${choice?.index ?? 0} does not exist`, field);
}

const round = (v: number) => Math.round(v * 10) / 10;
/** A face in photo pixels (`scale` photo pixels per decoded pixel). */
const faceReport = (f: FoundFace, scale: number): FaceReport => ({
  box: { x: round(f.x * scale), y: round(f.y * scale), width: round(f.width * scale), height: round(f.height * scale) },
  score: Math.round(f.score * 1e4) / 1e4,
  keyPoints: f.keyPoints.map((p) => ({ x: round(p.x * scale), y: round(p.y * scale) })),
});

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
  if (keepPreview) {
    const k = Math.max(1, Math.max(sharp.img.width, sharp.img.height) / PREVIEW_SIDE);
    prepared.preview = {
      image: warpAffine(sharp.img, [k, 0, 0, 0, k, 0], Math.round(sharp.img.width / k), Math.round(sharp.img.height / k)),
      chipToPreview: { a: a / k, b: b / k, tx: tx / k, ty: ty / k },
    };
  }
  // The decoded photo (one or two stages) is not needed past its chip and preview.
  for (const pixels of new Set([img.data, sharp.img.data])) releaseBuffer(pixels);
  prepared.preprocessMs = performance.now() - t3;
  return prepared;
}

/**
 * Stage two of a photo: when it was found scaled down and the chip would enlarge the chosen
 * face by more than SHRINK_MARGIN, it is decoded again as sharp as the chip needs and the
 * face's landmarks are found again there. Returns the image to cut the chip from, its
 * scale (photo pixels per pixel) and the face in its pixels.
 */
async function sharperFace(
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

function photoModels(manifest: ModelManifest) {
  if (!manifest.photo) throw new Error('the manifest has no photo models');
  return manifest.photo;
}
