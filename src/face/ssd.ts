/**
 * @module face/ssd
 * Decoding face-api's SSD MobileNetV1 outputs (pure): box encodings (ty, tx, th, tw; scales
 * 10, 10, 5, 5) against the priors into normalised (ymin, xmin, ymax, xmax) boxes, the face
 * score as the sigmoid of class logit 1, and greedy non-maximum suppression as face-api
 * does it (score-sorted candidates above a threshold, IoU > 0.5 suppresses); and the priors
 * for any input size, generated as TF's SSD anchor generator made the 512 px ones shipped
 * with the weights.
 */

export interface Box {
  /** Pixels in the image the detector saw (before any mapping back). */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ScoredBox extends Box {
  score: number;
}

/** Decoded boxes [n×4] (ymin, xmin, ymax, xmax, normalised) and scores [n]. */
export function decodeSsd(
  encodings: Float32Array,
  logits: Float32Array,
  priors: Float32Array,
): { boxes: Float32Array; scores: Float32Array } {
  const n = priors.length / 4;
  if (encodings.length !== 4 * n || logits.length !== 3 * n)
    throw new Error(`SSD outputs for ${n} priors expected, got ${encodings.length / 4} boxes, ${logits.length / 3} classes`);
  const boxes = new Float32Array(4 * n);
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const [y0, x0, y1, x1] = [priors[4 * i]!, priors[4 * i + 1]!, priors[4 * i + 2]!, priors[4 * i + 3]!];
    const h = y1 - y0;
    const w = x1 - x0;
    const cy = y0 + h / 2;
    const cx = x0 + w / 2;
    const [ty, tx, th, tw] = [encodings[4 * i]!, encodings[4 * i + 1]!, encodings[4 * i + 2]!, encodings[4 * i + 3]!];
    const halfH = (Math.exp(th / 5) * h) / 2;
    const halfW = (Math.exp(tw / 5) * w) / 2;
    const y = (ty / 10) * h + cy;
    const x = (tx / 10) * w + cx;
    boxes.set([y - halfH, x - halfW, y + halfH, x + halfW], 4 * i);
    scores[i] = 1 / (1 + Math.exp(-logits[3 * i + 1]!));
  }
  return { boxes, scores };
}

function iou(boxes: Float32Array, i: number, j: number): number {
  const box = (k: number) => {
    const [a, b, c, d] = [boxes[4 * k]!, boxes[4 * k + 1]!, boxes[4 * k + 2]!, boxes[4 * k + 3]!];
    return [Math.min(a, c), Math.min(b, d), Math.max(a, c), Math.max(b, d)] as const;
  };
  const [ay0, ax0, ay1, ax1] = box(i);
  const [by0, bx0, by1, bx1] = box(j);
  const areaA = (ay1 - ay0) * (ax1 - ax0);
  const areaB = (by1 - by0) * (bx1 - bx0);
  if (areaA <= 0 || areaB <= 0) return 0;
  const inter = Math.max(Math.min(ay1, by1) - Math.max(ay0, by0), 0) * Math.max(Math.min(ax1, bx1) - Math.max(ax0, bx0), 0);
  return inter / (areaA + areaB - inter);
}

/** Indices of the kept boxes, best first (face-api's nonMaxSuppression). */
export function nonMaxSuppression(
  boxes: Float32Array,
  scores: Float32Array,
  { maxResults = 100, iouThreshold = 0.5, minScore = 0.5 } = {},
): number[] {
  const candidates = [...scores.keys()].filter((i) => scores[i]! > minScore).sort((a, b) => scores[b]! - scores[a]!);
  const selected: number[] = [];
  for (const c of candidates) {
    if (selected.length >= Math.min(maxResults, scores.length)) break;
    if (selected.every((s) => iou(boxes, c, s) <= iouThreshold)) selected.push(c);
  }
  return selected;
}

/** The six feature-map sizes of SSD MobileNetV1 on an s×s input (stride 16, then halved, TF 'same'). */
export function ssdGrids(inputSize: number): number[] {
  const grids = [Math.ceil(inputSize / 16)];
  while (grids.length < 6) grids.push(Math.ceil(grids[grids.length - 1]! / 2));
  return grids;
}

/** Priors per cell of each feature map: 3 on the first, 6 on the others. */
export const ssdPriorCount = (grids: number[]): number => grids.reduce((n, g, i) => n + g * g * (i === 0 ? 3 : 6), 0);

/** The input size the detector was trained at: its anchors are this many pixels wide. */
export const SSD_TRAINED_SIZE = 512;

/**
 * The priors (ymin, xmin, ymax, xmax, normalised; not clipped) in prediction order, for an
 * s×s input: TF's multiple-grid anchor generator as it made the 5118 priors shipped with
 * the weights at 512 px (reproduced exactly there). Scales 0.2…0.95 spread evenly over the
 * six maps; the first map has (0.1, 1:1), (0.2, 2:1), (0.2, 1:2); the others 1:1, the
 * interpolated scale √(sᵢ·sᵢ₊₁) at 1:1, then 2:1, 1:2, 3:1 and 1:3 (0.3333). Cells row-major,
 * anchors innermost. At another input size the anchors keep their size and spacing **in
 * pixels** (a convolution's box regressors learned pixel sizes at 512): map l has cells
 * 16·2ˡ px apart, centred at (i + ½)·16·2ˡ px, and an anchor of scale s is s·512 px wide.
 */
export function ssdPriors(inputSize: number): Float32Array {
  const grids = ssdGrids(inputSize);
  const k = SSD_TRAINED_SIZE / inputSize;
  const scales = grids.map((_, i) => 0.2 + ((0.95 - 0.2) * i) / (grids.length - 1));
  const out = new Float32Array(4 * ssdPriorCount(grids));
  let n = 0;
  grids.forEach((g, layer) => {
    const s = scales[layer]!;
    const next = scales[layer + 1] ?? 1;
    const shapes: [number, number][] =
      layer === 0
        ? [
            [0.1, 1],
            [s, 2],
            [s, 0.5],
          ]
        : [
            [s, 1],
            [Math.sqrt(s * next), 1],
            [s, 2],
            [s, 0.5],
            [s, 3],
            [s, 0.3333],
          ];
    const step = (16 * 2 ** layer) / inputSize;
    for (let y = 0; y < g; y++)
      for (let x = 0; x < g; x++)
        for (const [scale, ratio] of shapes) {
          const cy = (y + 0.5) * step;
          const cx = (x + 0.5) * step;
          const h = (k * scale) / Math.sqrt(ratio);
          const w = k * scale * Math.sqrt(ratio);
          out.set([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], 4 * n++);
        }
  });
  return out;
}
