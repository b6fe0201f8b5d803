/**
 * @module models/photo/tiny
 * face-api.js's Tiny Face Detector (Tiny-YOLOv2 style with depthwise-separable convs) as an
 * ONNX graph, following `@vladmandic/face-api/src/tinyYolov2/` (the `runMobilenet` path with
 * a first full conv) op for op: input `x[1,3,S,S]` as pixel values 0…255 (RGB, NCHW, the
 * photo padded bottom/right to a square and resized; the graph subtracts face-api's mean RGB
 * and divides by 255), a 3×3 'valid' conv, five separable convs each followed by a 2×2
 * max-pool ('same'; stride 1 after the last), LeakyReLU(0.1), and a 1×1 conv to 5 anchors × 5
 * values. Output `grid[1,25,S/32,S/32]`, decoded by `decodeTiny`. S is a multiple of 32
 * (face-api uses 416 by default). Not served: `npm run bench:detectors` compares it with the
 * SSD detector the service uses (recall on the development photos, latency, wasm heap).
 */
import { GraphBuilder, float } from '../onnx/builder.js';
import { DataType } from '../onnx/proto.js';
import type { WeightMap } from '../facenet/weights.js';
import { TfLayers, samePads } from './layers.js';

export const TINY_MANIFEST = 'tiny_face_detector_model-weights_manifest.json';
export const TINY_MEAN_RGB = [117.001, 114.697, 97.404] as const;
export const TINY_ANCHORS = [
  [1.603231, 2.094468],
  [6.041143, 7.080126],
  [2.882459, 3.518061],
  [4.266906, 5.178857],
  [9.041765, 10.66308],
] as const;

export function buildTinyDetector(weights: WeightMap, size: number): Uint8Array {
  if (size % 32 !== 0) throw new Error(`tiny face detector input ${size}: must be a multiple of 32`);
  const g = new GraphBuilder('tiny_face_detector');
  const L = new TfLayers(g, weights, TINY_MANIFEST);
  const x = g.input('x', DataType.FLOAT, [1, 3, size, size]);
  const mean = g.constant('mean_rgb', Float32Array.from(TINY_MEAN_RGB), [1, 3, 1, 1]);
  let t = g.op('Div', [g.op('Sub', [x, mean]), g.constant('255', new Float32Array([255]), [])]);
  const leaky = (a: string) => g.op('LeakyRelu', [a], { alpha: float(0.10000000149011612) });
  const pool = (a: string, n: number, stride: number) => {
    const [p0, p1] = samePads(n, 2, stride);
    return g.op('MaxPool', [a], { kernel_shape: [2, 2], strides: [stride, stride], pads: [p0, p0, p1, p1] });
  };
  const bias = (name: string) => L.weight(name, [L.weights.get(name)?.shape[0] ?? -1]);

  t = leaky(L.conv(t, size, 'conv0', 'conv0/filters', { bias: bias('conv0/bias'), pads: [0, 0] }));
  let n = size - 2;
  for (let i = 1; i <= 5; i++) {
    const stride = 2;
    t = pool(t, n, stride);
    n = Math.ceil(n / stride);
    const dw = L.conv(t, n, `conv${i}/dw`, `conv${i}/depthwise_filter`, { pads: [1, 1], depthwise: true });
    t = leaky(L.conv(dw, n, `conv${i}/pw`, `conv${i}/pointwise_filter`, { bias: bias(`conv${i}/bias`) }));
  }
  t = pool(t, n, 1);
  g.node('Identity', [L.conv(t, n, 'conv8', 'conv8/filters', { bias: bias('conv8/bias'), pads: [0, 0] })], {}, ['grid']);
  g.output('grid', DataType.FLOAT, [1, 25, n, n]);
  return g.serialize({ doc: `face-api.js Tiny Face Detector at ${size}×${size} (raw grid: 5 anchors × (x, y, w, h, score))` });
}

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
