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

/** Gaussian blur with reflected borders (as OpenCV's default BORDER_REFLECT_101). */
export function gaussianBlur(map: ArrayLike<number>, height: number, width: number, spec: BlurSpec = blurFor(height)): Float32Array {
  const k = kernel1d(spec);
  const half = (spec.kernel - 1) / 2;
  const reflect = (i: number, n: number) => {
    if (n === 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
    return i;
  };
  const tmp = new Float64Array(height * width);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let j = 0; j < spec.kernel; j++) s += k[j]! * map[y * width + reflect(x + j - half, width)]!;
      tmp[y * width + x] = s;
    }
  const out = new Float32Array(height * width);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let j = 0; j < spec.kernel; j++) s += k[j]! * tmp[reflect(y + j - half, height) * width + x]!;
      out[y * width + x] = s;
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
