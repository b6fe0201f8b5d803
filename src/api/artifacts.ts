/**
 * @module api/artifacts
 * The files an explanation produces, for the API (stored in R2 or inlined) and the CLI
 * (written to disk): per image and kind, the raw map as float32 little-endian (`.f32`,
 * S⁺ or S⁻ before blur and min–max) with a JSON sidecar, a grey PNG of the display map
 * (blurred, min–max) and a colour overlay on the face.
 */
import { greyPng, overlayPng } from '../image/render.js';
import { blurFor, displayMap } from '../xfv/display.js';
import type { Explanation } from '../engine/explain.js';

export const MAP_IMAGES = ['a', 'b'] as const;
export const MAP_KINDS = ['similarity', 'dissimilarity'] as const;
export const MAP_FORMATS = ['png', 'overlay.png', 'f32', 'json'] as const;
export type MapImage = (typeof MAP_IMAGES)[number];
export type MapKind = (typeof MAP_KINDS)[number];
export type MapFormat = (typeof MAP_FORMATS)[number];
export type MapSelector = `${MapImage}.${MapKind}`;
export const ALL_MAPS: MapSelector[] = MAP_IMAGES.flatMap((i) => MAP_KINDS.map((k) => `${i}.${k}` as MapSelector));

export const CONTENT_TYPES: Record<MapFormat, string> = {
  png: 'image/png',
  'overlay.png': 'image/png',
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

export function renderArtifacts(expl: Explanation, faces: [Uint8Array, Uint8Array], size: number, wanted: MapSelector[], extra: Record<string, unknown>): MapArtifact[] {
  const out: MapArtifact[] = [];
  const shape = `${size},${size}`;
  const blur = blurFor(size);
  for (const selector of wanted) {
    const [image, kind] = selector.split('.') as [MapImage, MapKind];
    const raw = expl[image].maps[kind];
    const display = displayMap(raw, size, size);
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (const v of raw) {
      min = Math.min(min, v);
      max = Math.max(max, v);
      sum += v;
    }
    const sidecar = {
      image,
      kind,
      shape: [size, size],
      dtype: 'float32',
      byteOrder: 'little-endian',
      layout: 'row-major H×W',
      method: expl.method,
      content: expl.method === 'gradient' ? 'unsigned gradient magnitude (same map for both kinds)' : `${kind === 'similarity' ? 'S⁺ = max(S, 0)' : 'S⁻ = max(−S, 0)'} before blur and min–max`,
      raw: { min, max, sum },
      display: { blurSigma: blur.sigma, blurKernel: blur.kernel, normalisation: 'min–max to [0, 1]' },
      ...extra,
    };
    const add = (format: MapFormat, bytes: Uint8Array) => out.push({ image, kind, format, bytes, contentType: CONTENT_TYPES[format], shape });
    add('f32', new Uint8Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)));
    add('png', greyPng(display, size, size));
    add('overlay.png', overlayPng(display, faces[image === 'a' ? 0 : 1], size, size));
    add('json', new TextEncoder().encode(`${JSON.stringify(sidecar, null, 1)}\n`));
  }
  return out;
}
