/**
 * @module image/overlay
 * The colour overlay of a saliency map on a face, as raw pixels: the perceptual "inferno"
 * colour map (d3-scale-chromatic) blended over the greyed face with an opacity that follows
 * the saliency (0.25 + 0.6·map), so unimportant regions show the face. Pure and small: the
 * Worker's PNGs (image/render) and the demo page's live redraws use this one function.
 */
import { rgb } from 'd3-color';
import { interpolateInferno } from 'd3-scale-chromatic';

/** inferno(i / 255) as RGB8, 256 entries. */
export const LUT = (() => {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const c = rgb(interpolateInferno(i / 255));
    lut.set([c.r, c.g, c.b], i * 3);
  }
  return lut;
})();

export const level = (v: number) => Math.max(0, Math.min(255, Math.round(v * 255)));

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
