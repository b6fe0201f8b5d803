/**
 * @module xfv/pointing
 * Measures of whether a map points at a known region, and the pair-independent maps it
 * must beat (issue "Explanations that explain this pair"; docs/evaluation.md):
 * - `pointingAuc`: the chance that a pixel inside the region outranks one outside (ties
 *   count half; 0.5 is chance), the Mann–Whitney statistic;
 * - `massInside`: the share of the map's (non-negative) mass inside the region;
 * - `centrePrior`: a fixed Gaussian on the chip's centre, the same for every pair;
 * - `meanOfOthers`: the mean of a method's maps over the other pairs (each scaled to unit
 *   mass first), leaving one out;
 * - `pearson`: how alike two maps are (a map close to its method's mean map is mostly
 *   pair-independent);
 * - the regions of an aligned chip (eyes, nose, mouth on dlib's template) and the
 *   transplant of a region from one model input into another.
 * Pure: no I/O.
 */

/** A square region of a size×size map: its top-left corner and side, in pixels. */
export interface Region {
  name: string;
  x: number;
  y: number;
  side: number;
}

/**
 * Region centres on dlib's face chip, in units of the chip's side (150 px with padding
 * 0.25, as the service aligns): each eye at the mean of its two corners in dlib's 5-point
 * template (face/align DLIB_TEMPLATE_5, mapped through the padding), the nose 0.05 of the
 * side above the template's bottom of the nose (0.585), and the mouth on the same vertical
 * line at about the inner lips of dlib's mean face (0.83 of the unpadded face, so 0.717).
 */
const CHIP_CENTRES: Record<string, [number, number]> = {
  'right-eye': [0.6687, 0.3141],
  'left-eye': [0.3182, 0.3142],
  nose: [0.4934, 0.5352],
  mouth: [0.4934, 0.7167],
};

/** The transplant regions of a size×size aligned chip: 40×40 at 150 px, scaled with the size. */
export function chipRegions(size: number, side = Math.round((40 * size) / 150)): Region[] {
  return Object.entries(CHIP_CENTRES).map(([name, [u, v]]) => ({
    name,
    x: Math.max(0, Math.min(size - side, Math.round(u * size - side / 2))),
    y: Math.max(0, Math.min(size - side, Math.round(v * size - side / 2))),
    side,
  }));
}

/** A region as a 0/1 mask over a size×size map. */
export function regionMask(size: number, r: Region): Uint8Array {
  const mask = new Uint8Array(size * size);
  for (let y = r.y; y < r.y + r.side; y++) mask.fill(1, y * size + r.x, y * size + r.x + r.side);
  return mask;
}

/** `target` (a CHW model input) with the pixels of `mask` taken from `source` (same shape). */
export function transplant(target: Float32Array, source: Float32Array, mask: Uint8Array): Float32Array {
  if (target.length !== source.length || target.length % mask.length !== 0)
    throw new Error(`transplant: inputs of ${target.length} and ${source.length} values, a mask of ${mask.length}`);
  const out = target.slice();
  const pixels = mask.length;
  for (let c = 0; c < target.length / pixels; c++)
    for (let i = 0; i < pixels; i++) if (mask[i]) out[c * pixels + i] = source[c * pixels + i]!;
  return out;
}

/** P(a pixel inside `mask` ranks above one outside), ties counting half; NaN when either side is empty. */
export function pointingAuc(map: ArrayLike<number>, mask: Uint8Array): number {
  const n = map.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => map[a]! - map[b]!);
  // Mid-ranks (1-based) of tied runs, summed over the pixels inside.
  let rankSum = 0;
  let inside = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && map[order[j + 1]!] === map[order[i]!]) j++;
    const midRank = (i + j + 2) / 2;
    for (let k = i; k <= j; k++)
      if (mask[order[k]!]) {
        rankSum += midRank;
        inside++;
      }
    i = j + 1;
  }
  const outside = n - inside;
  if (inside === 0 || outside === 0) return Number.NaN;
  return (rankSum - (inside * (inside + 1)) / 2) / (inside * outside);
}

/** The share of the map's non-negative mass inside `mask` (0 for an empty map). */
export function massInside(map: ArrayLike<number>, mask: Uint8Array): number {
  let all = 0;
  let inside = 0;
  for (let i = 0; i < map.length; i++) {
    const v = Math.max(0, map[i]!);
    all += v;
    if (mask[i]) inside += v;
  }
  return all > 0 ? inside / all : 0;
}

/** A Gaussian on the centre of a size×size chip, σ = 30 px at 150 (scaled with the size). */
export function centrePrior(size: number, sigma = (30 * size) / 150): Float32Array {
  const map = new Float32Array(size * size);
  const c = (size - 1) / 2;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) map[y * size + x] = Math.exp(-((x - c) ** 2 + (y - c) ** 2) / (2 * sigma * sigma));
  return map;
}

/** The mean of `maps` but the one at `leaveOut`, each scaled to unit non-negative mass first (empty maps are skipped). */
export function meanOfOthers(maps: readonly ArrayLike<number>[], leaveOut: number): Float32Array {
  const n = maps[0]?.length ?? 0;
  const mean = new Float32Array(n);
  let count = 0;
  maps.forEach((m, k) => {
    if (k === leaveOut) return;
    let mass = 0;
    for (let i = 0; i < n; i++) mass += Math.max(0, m[i]!);
    if (mass <= 0) return;
    for (let i = 0; i < n; i++) mean[i]! += Math.max(0, m[i]!) / mass;
    count++;
  });
  if (count > 0) for (let i = 0; i < n; i++) mean[i]! /= count;
  return mean;
}

/** Pearson's correlation of two maps (NaN when either is constant). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : Number.NaN;
}
