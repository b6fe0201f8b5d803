/**
 * @module xfv/display
 * Display post-processing of saliency maps: a separable Gaussian blur scaled to the input
 * size (reference: kernel 25, σ 5 at 112×112, so σ = 5·H/112 and the kernel spans ±2.4σ)
 * and min–max normalisation to [0, 1].
 */

export interface BlurSpec {
  sigma: number;
  kernel: number;
}

/** The reference blur (25, σ 5 at 112) scaled to an H-pixel input. */
export function blurFor(height: number): BlurSpec {
  const sigma = (5 * height) / 112;
  const half = Math.round((12 / 5) * sigma);
  return { sigma, kernel: 2 * half + 1 };
}

function kernel1d({ sigma, kernel }: BlurSpec): Float64Array {
  const half = (kernel - 1) / 2;
  const k = new Float64Array(kernel);
  let sum = 0;
  for (let i = 0; i < kernel; i++) {
    k[i] = Math.exp(-((i - half) ** 2) / (2 * sigma * sigma));
    sum += k[i]!;
  }
  return k.map((v) => v / sum);
}

/** Σ_j k[j]·line[c − half + j] for a symmetric kernel: k[half]·line[c] + Σ_d k[half+d]·(line[c−d] + line[c+d]). */
function symmetricTap(k: Float64Array, half: number, line: Float64Array, c: number): number {
  let s = k[half]! * line[c]!;
  for (let d = 1; d <= half; d++) s += k[half + d]! * (line[c - d]! + line[c + d]!);
  return s;
}

/** Index i − half … n − 1 + half reflected into [0, n) (OpenCV's BORDER_REFLECT_101). */
function reflectedIndices(n: number, half: number): Int32Array {
  const out = new Int32Array(n + 2 * half);
  for (let t = 0; t < out.length; t++) {
    let i = t - half;
    if (n === 1) i = 0;
    else while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
    out[t] = i;
  }
  return out;
}

/**
 * Gaussian blur with reflected borders (as OpenCV's default BORDER_REFLECT_101). Each row,
 * then each column, is copied once into a padded line so the taps run without index
 * arithmetic, and the symmetric kernel's mirrored taps share a multiply (the demo page
 * redraws maps per frame with this).
 */
export function gaussianBlur(map: ArrayLike<number>, height: number, width: number, spec: BlurSpec = blurFor(height)): Float32Array {
  const k = kernel1d(spec);
  const half = (spec.kernel - 1) / 2;
  const rows = reflectedIndices(width, half);
  const cols = reflectedIndices(height, half);
  const line = new Float64Array(Math.max(width, height) + 2 * half);
  const tmp = new Float64Array(height * width);
  for (let y = 0; y < height; y++) {
    const o = y * width;
    for (let t = 0; t < rows.length; t++) line[t] = map[o + rows[t]!]!;
    for (let x = 0; x < width; x++) tmp[o + x] = symmetricTap(k, half, line, x + half);
  }
  const out = new Float32Array(height * width);
  for (let x = 0; x < width; x++) {
    for (let t = 0; t < cols.length; t++) line[t] = tmp[cols[t]! * width + x]!;
    for (let y = 0; y < height; y++) out[y * width + x] = symmetricTap(k, half, line, y + half);
  }
  return out;
}

/** Scale to [0, 1]; a constant map becomes all zeros. */
export function minMax(map: ArrayLike<number>): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < map.length; i++) {
    lo = Math.min(lo, map[i]!);
    hi = Math.max(hi, map[i]!);
  }
  const out = new Float32Array(map.length);
  if (!(hi > lo)) return out;
  for (let i = 0; i < map.length; i++) out[i] = (map[i]! - lo) / (hi - lo);
  return out;
}

/** The display form of a raw map: blurred, then min–max to [0, 1]. */
export function displayMap(map: ArrayLike<number>, height: number, width: number): Float32Array {
  return minMax(gaussianBlur(map, height, width));
}
