/**
 * @module face/align
 * Face geometry (pure): dlib's 5-point face-chip template, the five points taken from the
 * 68 iBUG landmarks, the least-squares similarity transform (rotation, uniform scale,
 * translation; Umeyama's solution without reflection, in closed form for 2-D) and the
 * affine maps between an aligned crop and the photo.
 */

export interface Point {
  x: number;
  y: number;
}

/** x' = a·x − b·y + tx, y' = b·x + a·y + ty (a = s·cos θ, b = s·sin θ). */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/**
 * dlib's 5-point mean face (shape_predictor_5_face_landmarks order: image-right eye outer
 * and inner corner, image-left eye outer and inner corner, bottom of the nose), in units
 * of the face chip before padding.
 */
export const DLIB_TEMPLATE_5: readonly Point[] = [
  { x: 0.8596, y: 0.2135 },
  { x: 0.6461, y: 0.229 },
  { x: 0.1206, y: 0.2137 },
  { x: 0.3341, y: 0.2291 },
  { x: 0.4901, y: 0.6278 },
];

/** The iBUG-68 indices of the five template points (eye corners 45, 42, 36, 39; nose 33). */
export const IBUG_5 = [45, 42, 36, 39, 33] as const;

/** The template in pixels of a `size`×`size` chip with `padding` (dlib's get_face_chip_details). */
export function chipTemplate(size = 150, padding = 0.25): Point[] {
  const scale = size / (1 + 2 * padding);
  return DLIB_TEMPLATE_5.map(({ x, y }) => ({ x: (padding + x) * scale, y: (padding + y) * scale }));
}

export const fivePoints = (landmarks68: readonly Point[]): Point[] => IBUG_5.map((i) => landmarks68[i]!);

/** The similarity that maps `from` onto `to` with the least squared error. */
export function fitSimilarity(from: readonly Point[], to: readonly Point[]): Similarity {
  const n = from.length;
  if (n < 2 || to.length !== n) throw new Error(`a similarity needs ≥ 2 point pairs, got ${n} and ${to.length}`);
  const mean = (ps: readonly Point[]) => ({ x: ps.reduce((s, p) => s + p.x, 0) / n, y: ps.reduce((s, p) => s + p.y, 0) / n });
  const mf = mean(from);
  const mt = mean(to);
  // As complex numbers: w = c·z + d with c = a + ib; c = Σ (w − w̄) conj(z − z̄) / Σ |z − z̄|².
  let re = 0;
  let im = 0;
  let norm = 0;
  for (let i = 0; i < n; i++) {
    const zx = from[i]!.x - mf.x;
    const zy = from[i]!.y - mf.y;
    const wx = to[i]!.x - mt.x;
    const wy = to[i]!.y - mt.y;
    re += wx * zx + wy * zy;
    im += wy * zx - wx * zy;
    norm += zx * zx + zy * zy;
  }
  if (norm === 0) throw new Error('the source points coincide');
  const a = re / norm;
  const b = im / norm;
  return { a, b, tx: mt.x - (a * mf.x - b * mf.y), ty: mt.y - (b * mf.x + a * mf.y) };
}

export const applySimilarity = (t: Similarity, p: Point): Point => ({ x: t.a * p.x - t.b * p.y + t.tx, y: t.b * p.x + t.a * p.y + t.ty });

export function invertSimilarity(t: Similarity): Similarity {
  const d = t.a * t.a + t.b * t.b;
  const a = t.a / d;
  const b = -t.b / d;
  return { a, b, tx: -(a * t.tx - b * t.ty), ty: -(b * t.tx + a * t.ty) };
}

/** Scale (s) and rotation (degrees) of a similarity. */
export const similarityScale = (t: Similarity) => Math.hypot(t.a, t.b);
export const similarityDegrees = (t: Similarity) => (Math.atan2(t.b, t.a) * 180) / Math.PI;
