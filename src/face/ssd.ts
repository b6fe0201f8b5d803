/**
 * @module face/ssd
 * Decoding face-api's SSD MobileNetV1 outputs (pure): box encodings (ty, tx, th, tw; scales
 * 10, 10, 5, 5) against the priors into normalised (ymin, xmin, ymax, xmax) boxes, the face
 * score as the sigmoid of class logit 1, and greedy non-maximum suppression as face-api
 * does it (score-sorted candidates above a threshold, IoU > 0.5 suppresses).
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
