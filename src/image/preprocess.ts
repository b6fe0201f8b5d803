/**
 * @module image/preprocess
 * Turn a decoded face crop into the model's input tensor exactly as face-api.js does for
 * a tensor input: pad the shorter side with black to a square (half after, the rest
 * before), resize with TF's legacy bilinear (align_corners = false, half_pixel_centers =
 * false), subtract the mean RGB and divide by 255; NCHW float32. Face detection and
 * alignment for arbitrary photos will slot in before this step.
 */
import type { RgbImage } from './decode.js';

export interface ModelInputSpec {
  size: number;
  mean: readonly [number, number, number];
  scale: number;
}

/** Pad to a square with zeros (face-api's padToSquare with isCenterImage = true). */
export function padToSquare(img: RgbImage): RgbImage {
  const { width, height } = img;
  if (width === height) return img;
  const side = Math.max(width, height);
  const diff = side - Math.min(width, height);
  const before = diff - Math.round(diff * 0.5);
  const out = new Uint8Array(side * side * 3);
  const dx = width < height ? before : 0;
  const dy = height < width ? before : 0;
  for (let y = 0; y < height; y++) {
    out.set(img.data.subarray(y * width * 3, (y + 1) * width * 3), ((y + dy) * side + dx) * 3);
  }
  return { width: side, height: side, data: out };
}

/** Model input [1,3,S,S] from an RGB image of any size. */
export function toModelInput(img: RgbImage, spec: ModelInputSpec): Float32Array {
  const sq = padToSquare(img);
  const { size, mean, scale } = spec;
  const n = sq.width;
  const out = new Float32Array(3 * size * size);
  const plane = size * size;
  if (n === size) {
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[c * plane + p] = (sq.data[p * 3 + c]! - mean[c]!) * scale;
    return out;
  }
  // TF resize_bilinear, legacy mode: src = dst * (in / out), clamped at the far edge,
  // in float32 arithmetic as TFJS does it (fround), so the result matches to ~1 ulp.
  const f = Math.fround;
  const ratio = f(n / size);
  for (let y = 0; y < size; y++) {
    const sy = f(y * ratio);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, n - 1);
    const fy = f(sy - y0);
    for (let x = 0; x < size; x++) {
      const sx = f(x * ratio);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, n - 1);
      const fx = f(sx - x0);
      for (let c = 0; c < 3; c++) {
        const tl = sq.data[(y0 * n + x0) * 3 + c]!;
        const tr = sq.data[(y0 * n + x1) * 3 + c]!;
        const bl = sq.data[(y1 * n + x0) * 3 + c]!;
        const br = sq.data[(y1 * n + x1) * 3 + c]!;
        const top = f(tl + f(f(tr - tl) * fx));
        const bottom = f(bl + f(f(br - bl) * fx));
        const value = f(top + f(f(bottom - top) * fy));
        out[c * plane + y * size + x] = (value - mean[c]!) * scale;
      }
    }
  }
  return out;
}
