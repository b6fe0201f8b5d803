/**
 * @module models/photo/tiny
 * face-api.js's Tiny Face Detector (Tiny-YOLOv2 style with depthwise-separable convs) as an
 * ONNX graph, following `@vladmandic/face-api/src/tinyYolov2/` (the `runMobilenet` path with
 * a first full conv) op for op: input `x[1,3,H,W]` as pixel values 0…255 (RGB, NCHW; face-api
 * pads the photo bottom/right to an S×S square, the service cuts that square to the photo's
 * aspect ratio: engine/faces `detectorFrame`; the graph subtracts face-api's mean RGB and
 * divides by 255), a 3×3 'valid' conv, five separable convs each followed by a 2×2 max-pool
 * ('same' as SAME_UPPER, so any side works; stride 1 after the last), LeakyReLU(0.1), and a
 * 1×1 conv to 5 anchors × 5 values. Output `grid[1,25,H/32,W/32]`, decoded by `decodeTiny`
 * (src/face/tiny). Sides are multiples of 32 (face-api uses 416 by default). Served with a
 * longer side of 352 as the photo path's first, quickest detector pass (docs/photos.md);
 * `npm run bench:detectors` compares it with the SSD (recall on the development photos,
 * latency, wasm heap). `size` only names the file's pass: the graph takes any frame.
 */
import { GraphBuilder, float } from '../onnx/builder.js';
import { DataType } from '../onnx/proto.js';
import type { WeightMap } from '../facenet/weights.js';
import { TfLayers } from './layers.js';

export { TINY_ANCHORS, decodeTiny } from '../../src/face/tiny.js';

export const TINY_MANIFEST = 'tiny_face_detector_model-weights_manifest.json';
export const TINY_MEAN_RGB = [117.001, 114.697, 97.404] as const;
/** The input size served (face-api's default is 416; 352 measured as good on held-out photos and about 30 % faster: docs/photos.md). */
export const TINY_SIZE = 352;

export function buildTinyDetector(weights: WeightMap, size: number): Uint8Array {
  if (size % 32 !== 0) throw new Error(`tiny face detector input ${size}: must be a multiple of 32`);
  const g = new GraphBuilder('tiny_face_detector');
  const L = new TfLayers(g, weights, TINY_MANIFEST);
  const x = g.input('x', DataType.FLOAT, [1, 3, 'H', 'W']);
  const mean = g.constant('mean_rgb', Float32Array.from(TINY_MEAN_RGB), [1, 3, 1, 1]);
  let t = g.op('Div', [g.op('Sub', [x, mean]), g.constant('255', new Float32Array([255]), [])]);
  const leaky = (a: string) => g.op('LeakyRelu', [a], { alpha: float(0.10000000149011612) });
  // TF 'same' for a 2×2 pool puts the one padding row/column (odd sides, or stride 1) at the end: SAME_UPPER, on any side.
  const pool = (a: string, _n: number, stride: number) =>
    g.op('MaxPool', [a], { kernel_shape: [2, 2], strides: [stride, stride], auto_pad: 'SAME_UPPER' });
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
  g.output('grid', DataType.FLOAT, [1, 25, 'h', 'w']);
  return g.serialize({
    doc: `face-api.js Tiny Face Detector, any H×W (multiples of 32; served with a longer side of ${size}); raw grid: 5 anchors × (x, y, w, h, score)`,
  });
}
