/**
 * @module image/render
 * Saliency maps as images: a grey-level PNG of a [0,1] map, and a colour heat map (the
 * perceptual "inferno" colour map from d3-scale-chromatic) blended over the face, whose
 * opacity follows the saliency so unimportant regions show the face (image/overlay, shared
 * with the demo page), and that overlay laid back on the photo. PNG encoding by fast-png.
 */
import { encode } from 'fast-png';
import { level, overlayRgb } from './overlay.js';
import type { ModelInputSpec } from './preprocess.js';

/** Fast deflate: maps are small and rendered on the request path. */
const FAST = { zlib: { level: 1 as const } };

/** 8-bit grey PNG of a map in [0, 1]. */
export function greyPng(map: ArrayLike<number>, width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = level(map[i]!);
  return encode({ width, height, data, channels: 1, depth: 8 }, FAST);
}

/** RGB PNG of RGB8 pixels (HWC), e.g. a face as the model saw it. */
export function rgbPng(rgb: Uint8Array, width: number, height: number): Uint8Array {
  return encode({ width, height, data: rgb, channels: 3, depth: 8 }, FAST);
}

/** The model input [3,S,S] back to RGB8 HWC pixels. */
export function inputToRgb(x: Float32Array, spec: ModelInputSpec): Uint8Array {
  const p = spec.size * spec.size;
  const out = new Uint8Array(p * 3);
  for (let i = 0; i < p; i++)
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.max(0, Math.min(255, Math.round(x[c * p + i]! / spec.scale + spec.mean[c]!)));
  return out;
}

/** RGB PNG: inferno(map) over a greyed face, opacity 0.25 + 0.6·map. */
export function overlayPng(map: ArrayLike<number>, face: Uint8Array, width: number, height: number): Uint8Array {
  return encode({ width, height, data: overlayRgb(map, face, width, height), channels: 3, depth: 8 }, FAST);
}

/**
 * RGB PNG of a chip-sized map laid back on the photo it came from: each photo pixel whose
 * centre maps (through `photoToChip`, an affine map to chip pixels) inside the chip gets the
 * overlay blend of the bilinearly sampled map; the rest of the photo is left as it is.
 */
export function photoOverlayPng(
  map: ArrayLike<number>,
  size: number,
  photo: { width: number; height: number; data: Uint8Array },
  photoToChip: readonly [number, number, number, number, number, number],
): Uint8Array {
  const [m0, m1, m2, m3, m4, m5] = photoToChip;
  const { width, height } = photo;
  const data = Uint8Array.from(photo.data);
  const at = (x: number, y: number) => map[Math.min(size - 1, Math.max(0, y)) * size + Math.min(size - 1, Math.max(0, x))]!;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const u = m0 * (x + 0.5) + m1 * (y + 0.5) + m2 - 0.5;
      const v = m3 * (x + 0.5) + m4 * (y + 0.5) + m5 - 0.5;
      if (u < -0.5 || v < -0.5 || u > size - 0.5 || v > size - 0.5) continue;
      const u0 = Math.floor(u);
      const v0 = Math.floor(v);
      const fu = u - u0;
      const fv = v - v0;
      const value = (1 - fv) * ((1 - fu) * at(u0, v0) + fu * at(u0 + 1, v0)) + fv * ((1 - fu) * at(u0, v0 + 1) + fu * at(u0 + 1, v0 + 1));
      const i = y * width + x;
      const pixel = overlayRgb([value], photo.data.subarray(i * 3, i * 3 + 3), 1, 1);
      data.set(pixel, i * 3);
    }
  return encode({ width, height, data, channels: 3, depth: 8 }, FAST);
}
