/**
 * @module image/render
 * Saliency maps as images: a grey-level PNG of a [0,1] map, and a colour heat map (the
 * perceptual "inferno" colour map from d3-scale-chromatic) blended over the face, whose
 * opacity follows the saliency so unimportant regions show the face. PNG encoding by
 * fast-png.
 */
import { rgb } from 'd3-color';
import { interpolateInferno } from 'd3-scale-chromatic';
import { encode } from 'fast-png';
import type { ModelInputSpec } from './preprocess.js';

const LUT = (() => {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const c = rgb(interpolateInferno(i / 255));
    lut.set([c.r, c.g, c.b], i * 3);
  }
  return lut;
})();

/** Fast deflate: maps are small and rendered on the request path. */
const FAST = { zlib: { level: 1 as const } };

const level = (v: number) => Math.max(0, Math.min(255, Math.round(v * 255)));

/** 8-bit grey PNG of a map in [0, 1]. */
export function greyPng(map: ArrayLike<number>, width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = level(map[i]!);
  return encode({ width, height, data, channels: 1, depth: 8 }, FAST);
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

/** The overlay as raw RGB8 pixels (HWC). */
export function overlayRgb(map: ArrayLike<number>, face: Uint8Array, width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const v = Math.max(0, Math.min(1, map[i]!));
    const alpha = 0.25 + 0.6 * v;
    const grey = 0.299 * face[i * 3]! + 0.587 * face[i * 3 + 1]! + 0.114 * face[i * 3 + 2]!;
    const l = level(v) * 3;
    for (let c = 0; c < 3; c++) data[i * 3 + c] = Math.round((1 - alpha) * grey + alpha * LUT[l + c]!);
  }
  return data;
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
