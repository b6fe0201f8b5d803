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
 * Decoding the grid: per cell and anchor, the box centre ((col + σ(tx)) / cells, (row + σ(ty)) / cells),
 * size (e^tw·anchor_w / cells, e^th·anchor_h / cells) and score σ(t_score), as (ymin, xmin, ymax, xmax)
 * in units of the padded square, the layout of SSD decoding, so the same NMS applies (face-api uses IoU 0.4).
 */
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** Decoded boxes [n×4] and scores [n] from a [anchors·5, cells, cells] grid (NCHW, batch 1). */
export function decodeTiny(
  grid: Float32Array,
  anchors: readonly (readonly [number, number])[],
): { boxes: Float32Array; scores: Float32Array } {
  const a = anchors.length;
  const cells = Math.round(Math.sqrt(grid.length / (5 * a)));
  if (cells * cells * 5 * a !== grid.length) throw new Error(`tiny detector grid of ${grid.length} values is not ${5 * a}×cells×cells`);
  const n = cells * cells * a;
  const boxes = new Float32Array(4 * n);
  const scores = new Float32Array(n);
  const at = (channel: number, row: number, col: number) => grid[(channel * cells + row) * cells + col]!;
  let i = 0;
  for (let row = 0; row < cells; row++)
    for (let col = 0; col < cells; col++)
      for (let k = 0; k < a; k++, i++) {
        const [aw, ah] = anchors[k]!;
        const cx = (col + sigmoid(at(5 * k, row, col))) / cells;
        const cy = (row + sigmoid(at(5 * k + 1, row, col))) / cells;
        const w = (Math.exp(at(5 * k + 2, row, col)) * aw) / cells;
        const h = (Math.exp(at(5 * k + 3, row, col)) * ah) / cells;
        boxes.set([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], 4 * i);
        scores[i] = sigmoid(at(5 * k + 4, row, col));
      }
  return { boxes, scores };
}
