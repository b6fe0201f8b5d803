/**
 * @module engine/artifacts
 * The last stage of the explain pipeline: the files an explanation produces, for the API
 * (stored in R2 or inlined) and the CLI
 * (written to disk): per image and kind, the raw map as float32 little-endian (`.f32`,
 * S⁺ or S⁻ before blur and min–max) with a JSON sidecar, a grey PNG of the display map
 * (blurred, min–max) and a colour overlay on the face. The Worker stores only the raw maps,
 * faces and an ExplanationRecord (store/results) and renders PNGs and sidecars on request.
 */
import type { SmoothOptions } from '../xfv/smooth.js';
import { type Similarity, invertSimilarity } from '../face/align.js';
import type { RgbImage } from '../image/decode.js';
import { greyPng, overlayPng, photoOverlayPng } from '../image/render.js';
import { blurFor, displayMap } from '../xfv/display.js';
import { MAP_SELECTORS, type MapImage, type MapKind, type MapSelector, parseSelector } from '../xfv/maps.js';
import type { Explanation } from './explain-pair.js';
import type { PhotoPreview } from './photo-preview.js';

export const MAP_FORMATS = ['png', 'overlay.png', 'f32', 'json', 'photo-overlay.png'] as const;
export type MapFormat = (typeof MAP_FORMATS)[number];

export const CONTENT_TYPES: Record<MapFormat, string> = {
  png: 'image/png',
  'overlay.png': 'image/png',
  'photo-overlay.png': 'image/png',
  f32: 'application/octet-stream',
  json: 'application/json',
};

export interface MapArtifact {
  image: MapImage;
  kind: MapKind;
  format: MapFormat;
  bytes: Uint8Array;
  contentType: string;
  /** `H,W` for `.f32`. */
  shape: string;
}

export function artifactPath(a: Pick<MapArtifact, 'image' | 'kind' | 'format'>): string {
  return `${a.image}/${a.kind}.${a.format}`;
}

/** Values per image, kind and format (the `maps` object of responses and result.json). */
/** One map's files: the four every map has, and the photo overlay for photo inputs. */
export type MapFormatFiles = Record<Exclude<MapFormat, 'photo-overlay.png'>, string> & { 'photo-overlay.png'?: string };
export type MapFiles = Partial<Record<MapImage, Partial<Record<MapKind, MapFormatFiles>>>>;

/** Group one string per file (a link, a path, a data: URI) as `maps[image][kind][format]`. */
export function mapFiles<T extends Pick<MapArtifact, 'image' | 'kind' | 'format'>>(
  files: Iterable<T>,
  value: (file: T) => string,
): MapFiles {
  const maps: MapFiles = {};
  for (const file of files) {
    const byKind = maps[file.image] ?? {};
    maps[file.image] = byKind;
    // Callers pass the four formats every map has (and the photo overlay where there is one).
    const byFormat = byKind[file.kind] ?? ({} as MapFormatFiles);
    byKind[file.kind] = byFormat;
    byFormat[file.format] = value(file);
  }
  return maps;
}

export interface MapStats {
  min: number;
  max: number;
  sum: number;
}

/** What a stored explanation records about itself (the `.json` sidecars are built from it). */
export interface ExplanationRecord {
  method: Explanation['method'];
  centre: boolean;
  /** FGGB with smoothed bases: their parameters. */
  smooth?: SmoothOptions;
  threshold: number;
  size: number;
  resultId?: string;
  stats: Record<MapSelector, MapStats>;
  /** Photo inputs: chip pixel → pixel of the photo kept with the result (its preview). */
  photos?: Partial<Record<MapImage, Similarity>>;
}

/** The raw map a selector names. */
export const mapOf = (expl: Explanation, selector: MapSelector): Float32Array => {
  const [image, kind] = parseSelector(selector);
  return expl[image].maps[kind];
};

export function mapStats(raw: ArrayLike<number>): MapStats {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return { min, max, sum };
}

export function explanationRecord(
  expl: Explanation,
  size: number,
  extra: { centre: boolean; threshold: number; resultId?: string; photos?: Partial<Record<MapImage, PhotoPreview>> },
): ExplanationRecord {
  const stats = Object.fromEntries(MAP_SELECTORS.map((sel) => [sel, mapStats(mapOf(expl, sel))])) as Record<MapSelector, MapStats>;
  return {
    method: expl.method,
    centre: extra.centre,
    ...(expl.smooth ? { smooth: expl.smooth } : {}),
    threshold: extra.threshold,
    size,
    ...(extra.resultId ? { resultId: extra.resultId } : {}),
    stats,
    ...(extra.photos && Object.keys(extra.photos).length
      ? { photos: Object.fromEntries(Object.entries(extra.photos).map(([image, p]) => [image, p.chipToPreview])) }
      : {}),
  };
}

/** The `.json` sidecar of one map. */
export function sidecar(record: ExplanationRecord, image: MapImage, kind: MapKind): Record<string, unknown> {
  const blur = blurFor(record.size);
  return {
    image,
    kind,
    shape: [record.size, record.size],
    dtype: 'float32',
    byteOrder: 'little-endian',
    layout: 'row-major H×W',
    method: record.method,
    content:
      record.method === 'gradient'
        ? 'unsigned gradient magnitude (same map for both kinds)'
        : `${kind === 'similarity' ? 'S⁺ = max(S, 0)' : 'S⁻ = max(−S, 0)'} before blur and min–max`,
    raw: record.stats[`${image}.${kind}`],
    display: { blurSigma: blur.sigma, blurKernel: blur.kernel, normalisation: 'min–max to [0, 1]' },
    centre: record.centre,
    threshold: record.threshold,
    ...(record.resultId ? { resultId: record.resultId } : {}),
  };
}

export const sidecarBytes = (record: ExplanationRecord, image: MapImage, kind: MapKind) =>
  new TextEncoder().encode(`${JSON.stringify(sidecar(record, image, kind), null, 1)}\n`);

/** The display map laid back on the photo (a PNG of the photo's preview size). */
export function renderPhotoOverlay(raw: Float32Array, size: number, photo: RgbImage, chipToPhoto: Similarity): Uint8Array {
  const t = invertSimilarity(chipToPhoto);
  return photoOverlayPng(displayMap(raw, size, size), size, photo, [t.a, -t.b, t.tx, t.b, t.a, t.ty]);
}

/** A grey PNG or a colour overlay of a raw map (blurred, min–max). */
export function renderPng(format: 'png' | 'overlay.png', raw: Float32Array, face: Uint8Array, size: number): Uint8Array {
  const display = displayMap(raw, size, size);
  return format === 'png' ? greyPng(display, size, size) : overlayPng(display, face, size, size);
}

/** Every file of the wanted maps, rendered (the CLI, and inline answers when nothing is stored). */
export function renderArtifacts(
  expl: Explanation,
  faces: [Uint8Array, Uint8Array],
  size: number,
  wanted: readonly MapSelector[],
  extra: { centre: boolean; threshold: number; resultId?: string; photos?: Partial<Record<MapImage, PhotoPreview>> },
): MapArtifact[] {
  const out: MapArtifact[] = [];
  const shape = `${size},${size}`;
  const record = explanationRecord(expl, size, extra);
  for (const selector of wanted) {
    const [image, kind] = parseSelector(selector);
    const raw = mapOf(expl, selector);
    const face = faces[image === 'a' ? 0 : 1];
    const add = (format: MapFormat, bytes: Uint8Array) =>
      out.push({ image, kind, format, bytes, contentType: CONTENT_TYPES[format], shape });
    add('f32', new Uint8Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)));
    add('png', renderPng('png', raw, face, size));
    add('overlay.png', renderPng('overlay.png', raw, face, size));
    add('json', sidecarBytes(record, image, kind));
    const photo = extra.photos?.[image];
    if (photo) add('photo-overlay.png', renderPhotoOverlay(raw, size, photo.image, photo.chipToPreview));
  }
  return out;
}
