/**
 * @module image/warp
 * Resampling an RGB image through an affine map (the aligned face chip, the detector's and
 * the landmark net's inputs): each output pixel centre is mapped into the source and read
 * bilinearly; when the map shrinks by more than 1× the output pixel averages k×k bilinear
 * taps spread over its footprint (k = ⌈scale⌉), so large photos do not alias. Axis-aligned
 * shrinks (the detector's input, previews) take a separable area average instead: each
 * output pixel is the mean of the source area it covers, each source pixel read once
 * (about 10× faster on a phone photo). Outside the source reads black.
 */
import type { RgbImage } from './decode.js';

/** Source coordinates of output pixel (u, v): x = m[0]·u + m[1]·v + m[2], y = m[3]·u + m[4]·v + m[5] (pixel centres at +0.5). */
export type Affine = readonly [number, number, number, number, number, number];

export function warpAffine(src: RgbImage, map: Affine, width: number, height: number): RgbImage {
  const [m0, m1, m2, m3, m4, m5] = map;
  if (m1 === 0 && m3 === 0 && m0 >= 1 && m4 >= 1 && (m0 > 1 || m4 > 1)) return shrinkAxisAligned(src, map, width, height);
  const scale = Math.max(Math.hypot(m0, m3), Math.hypot(m1, m4));
  const k = Math.max(1, Math.ceil(scale - 1e-9));
  const out = new Uint8Array(width * height * 3);
  const { data, width: sw, height: sh } = src;
  const stride = sw * 3;
  // Tap offsets within an output pixel; a tap adds its four pixels in the same order on
  // either path, so the result does not depend on which one it takes.
  const offsets = Float64Array.from({ length: k }, (_, i) => (i + 0.5) / k);
  const taps = k * k;
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < k; j++) {
        const vv = v + offsets[j]!;
        for (let i = 0; i < k; i++) {
          const uu = u + offsets[i]!;
          // Pixel centres at +0.5: shift to index space.
          const fx = m0 * uu + m1 * vv + m2 - 0.5;
          const fy = m3 * uu + m4 * vv + m5 - 0.5;
          const x0 = Math.floor(fx);
          const y0 = Math.floor(fy);
          const ax = fx - x0;
          const ay = fy - y0;
          if (x0 >= 0 && y0 >= 0 && x0 + 1 < sw && y0 + 1 < sh) {
            const o = (y0 * sw + x0) * 3;
            const p = o + stride;
            const w00 = (1 - ay) * (1 - ax);
            const w01 = (1 - ay) * ax;
            const w10 = ay * (1 - ax);
            const w11 = ay * ax;
            r += w00 * data[o]!;
            g += w00 * data[o + 1]!;
            b += w00 * data[o + 2]!;
            r += w01 * data[o + 3]!;
            g += w01 * data[o + 4]!;
            b += w01 * data[o + 5]!;
            r += w10 * data[p]!;
            g += w10 * data[p + 1]!;
            b += w10 * data[p + 2]!;
            r += w11 * data[p + 3]!;
            g += w11 * data[p + 4]!;
            b += w11 * data[p + 5]!;
            continue;
          }
          // The 2×2 neighbourhood leaves the source: the pixels outside read black.
          for (let dy = 0; dy <= 1; dy++) {
            const yy = y0 + dy;
            if (yy < 0 || yy >= sh) continue;
            const wy = dy ? ay : 1 - ay;
            for (let dx = 0; dx <= 1; dx++) {
              const xx = x0 + dx;
              if (xx < 0 || xx >= sw) continue;
              const w = wy * (dx ? ax : 1 - ax);
              const o = (yy * sw + xx) * 3;
              r += w * data[o]!;
              g += w * data[o + 1]!;
              b += w * data[o + 2]!;
            }
          }
        }
      }
      const o = (v * width + u) * 3;
      out[o] = Math.round(r / taps);
      out[o + 1] = Math.round(g / taps);
      out[o + 2] = Math.round(b / taps);
    }
  }
  return { width, height, data: out };
}

/**
 * The source span of each output pixel along one axis: [o·m + t, (o+1)·m + t) clipped to
 * the source, as its first and last source pixel and the weights of those two (the ones
 * between weigh 1/m each; a span within one pixel has first = last).
 */
interface Spans {
  first: Int32Array;
  last: Int32Array;
  firstWeight: Float32Array;
  lastWeight: Float32Array;
  /** 1/m: the weight of a source pixel wholly inside a span. */
  inner: number;
}

function spans(outSize: number, m: number, t: number, srcSize: number): Spans {
  const first = new Int32Array(outSize);
  const last = new Int32Array(outSize).fill(-1);
  const firstWeight = new Float32Array(outSize);
  const lastWeight = new Float32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const lo = Math.max(0, o * m + t);
    const hi = Math.min(srcSize, (o + 1) * m + t);
    if (hi <= lo) continue; // wholly outside the source: black
    const i0 = Math.floor(lo);
    const i1 = Math.min(srcSize - 1, Math.ceil(hi) - 1);
    first[o] = i0;
    last[o] = i1;
    if (i0 === i1) firstWeight[o] = lastWeight[o] = (hi - lo) / m;
    else {
      firstWeight[o] = (i0 + 1 - lo) / m;
      lastWeight[o] = (hi - i1) / m;
    }
  }
  return { first, last, firstWeight, lastWeight, inner: 1 / m };
}

/** One source row (RGB8 at `base`) averaged over each output column's span, into `out` (RGB float). */
function reduceRow(data: Uint8Array, base: number, cols: Spans, out: Float32Array): void {
  const { first, last, firstWeight, lastWeight, inner } = cols;
  for (let u = 0; u < first.length; u++) {
    const i0 = first[u]!;
    const i1 = last[u]!;
    const o = 3 * u;
    if (i1 < i0) {
      out[o] = out[o + 1] = out[o + 2] = 0;
      continue;
    }
    let p = base + 3 * i0;
    let w = firstWeight[u]!;
    let c0 = w * data[p]!;
    let c1 = w * data[p + 1]!;
    let c2 = w * data[p + 2]!;
    if (i1 > i0) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      for (let i = i0 + 1; i < i1; i++) {
        p += 3;
        s0 += data[p]!;
        s1 += data[p + 1]!;
        s2 += data[p + 2]!;
      }
      p = base + 3 * i1;
      w = lastWeight[u]!;
      c0 += inner * s0 + w * data[p]!;
      c1 += inner * s1 + w * data[p + 1]!;
      c2 += inner * s2 + w * data[p + 2]!;
    }
    out[o] = c0;
    out[o + 1] = c1;
    out[o + 2] = c2;
  }
}

/**
 * x = m0·u + m2, y = m4·v + m5 with m0, m4 ≥ 1: each output pixel averages the source area
 * it covers. Each source row is reduced across the columns once, then added into the output
 * rows whose spans hold it; `put` stores each finished output row (RGB float, unrounded).
 */
function areaAverage(src: RgbImage, map: Affine, width: number, height: number, put: (v: number, row: Float32Array) => void): void {
  const [m0, , m2, , m4, m5] = map;
  const { data, width: sw, height: sh } = src;
  const cols = spans(width, m0, m2, sw);
  const rows = spans(height, m4, m5, sh);
  const n = width * 3;
  const row = new Float32Array(n);
  const acc = new Float32Array(n);
  let reduced = -1; // the source row held in `row`
  for (let v = 0; v < height; v++) {
    const r0 = rows.first[v]!;
    const r1 = rows.last[v]!;
    if (r1 < r0) continue; // black
    acc.fill(0);
    for (let r = r0; r <= r1; r++) {
      if (r !== reduced) {
        reduceRow(data, r * sw * 3, cols, row);
        reduced = r;
      }
      const wy = r === r0 ? rows.firstWeight[v]! : r === r1 ? rows.lastWeight[v]! : rows.inner;
      for (let i = 0; i < n; i++) acc[i]! += wy * row[i]!;
    }
    put(v, acc);
  }
}

function shrinkAxisAligned(src: RgbImage, map: Affine, width: number, height: number): RgbImage {
  const out = new Uint8Array(width * height * 3);
  const n = width * 3;
  areaAverage(src, map, width, height, (v, row) => {
    const o = v * n;
    for (let i = 0; i < n; i++) out[o + i] = Math.round(row[i]!);
  });
  return { width, height, data: out };
}

/**
 * The image scaled by 1/k (k ≥ 1: area average; below: bilinear) into the top-left of a
 * `width`×`height` frame (default: a `width` square) padded black, as planar float32
 * [3, height, width] of pixel values 0…255 (rounded to integers, as an RGB8 image would
 * hold them): the face detectors' input, in one pass.
 */
export function scaledPlanar(src: RgbImage, k: number, width: number, height = width): Float32Array {
  const n = width * height;
  const out = new Float32Array(3 * n);
  if (k > 1) {
    areaAverage(src, [k, 0, 0, 0, k, 0], width, height, (v, row) => {
      for (let u = 0, o = v * width; u < width; u++, o++) {
        out[o] = Math.round(row[3 * u]!);
        out[n + o] = Math.round(row[3 * u + 1]!);
        out[2 * n + o] = Math.round(row[3 * u + 2]!);
      }
    });
    return out;
  }
  const { data } = warpAffine(src, [k, 0, 0, 0, k, 0], width, height);
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) out[c * n + p] = data[3 * p + c]!;
  return out;
}
