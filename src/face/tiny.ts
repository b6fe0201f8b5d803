/**
 * @module face/tiny
 * Decoding face-api.js's Tiny Face Detector (models/photo/tiny builds the net): its anchors
 * and the raw grid → boxes and scores, in the layout of SSD decoding (src/face/ssd), so the
 * same NMS applies (face-api uses IoU 0.4 for it). Pure.
 */

/** Anchor (width, height) in grid cells, as face-api's TinyFaceDetector has them. */
export const TINY_ANCHORS = [
  [1.603231, 2.094468],
  [6.041143, 7.080126],
  [2.882459, 3.518061],
  [4.266906, 5.178857],
  [9.041765, 10.66308],
] as const;

/**
 * Decoding the grid: per cell and anchor, the box centre ((col + σ(tx)) / unit, (row + σ(ty)) / unit),
 * size (e^tw·anchor_w / unit, e^th·anchor_h / unit) and score σ(t_score), as (ymin, xmin, ymax, xmax)
 * in units of the square of `unit` cells (the longer side of the input; face-api's square has
 * `unit` cells each way), the layout of SSD decoding, so the same NMS applies (face-api uses IoU 0.4).
 */
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** A grid's rows and columns: the input's sides / 32 (its default: a square one). */
export interface TinyGridSize {
  rows: number;
  cols: number;
}

/**
 * Decoded boxes [n×4] and scores [n] from a [anchors·5, rows, cols] grid (NCHW, batch 1):
 * square (face-api's padded input) unless `size` says otherwise (an input cut to the photo's
 * aspect ratio, its longer side the square's: coordinates stay in units of that square).
 */
export function decodeTiny(
  grid: Float32Array,
  anchors: readonly (readonly [number, number])[],
  size?: TinyGridSize,
): { boxes: Float32Array; scores: Float32Array } {
  const a = anchors.length;
  const cells = Math.round(Math.sqrt(grid.length / (5 * a)));
  const { rows, cols } = size ?? { rows: cells, cols: cells };
  if (rows * cols * 5 * a !== grid.length) throw new Error(`tiny detector grid of ${grid.length} values is not ${5 * a}×${rows}×${cols}`);
  const unit = Math.max(rows, cols);
  const n = rows * cols * a;
  const boxes = new Float32Array(4 * n);
  const scores = new Float32Array(n);
  const plane = rows * cols;
  const at = (channel: number, row: number, col: number) => grid[channel * plane + row * cols + col]!;
  let i = 0;
  for (let row = 0; row < rows; row++)
    for (let col = 0; col < cols; col++)
      for (let k = 0; k < a; k++, i++) {
        const [aw, ah] = anchors[k]!;
        const cx = (col + sigmoid(at(5 * k, row, col))) / unit;
        const cy = (row + sigmoid(at(5 * k + 1, row, col))) / unit;
        const w = (Math.exp(at(5 * k + 2, row, col)) * aw) / unit;
        const h = (Math.exp(at(5 * k + 3, row, col)) * ah) / unit;
        boxes.set([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], 4 * i);
        scores[i] = sigmoid(at(5 * k + 4, row, col));
      }
  return { boxes, scores };
}
