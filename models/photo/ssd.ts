/**
 * @module models/photo/ssd
 * face-api.js's SSD MobileNetV1 face detector as an ONNX graph, following
 * `@vladmandic/face-api/src/ssdMobilenetv1/` op for op: input `x[1,3,512,512]` as pixel
 * values 0…255 (RGB, NCHW; the graph maps them to −1…1), MobileNetV1 (depthwise convs with
 * batch norm and ReLU6, pointwise convs with offset and ReLU6), eight extra feature layers
 * and six box predictors. Outputs the raw `boxes[1,5118,4]` encodings and `classes[1,5118,3]`
 * logits; decoding against the 5118 priors (shipped beside the model) and non-maximum
 * suppression are TypeScript (src/face/ssd.ts).
 */
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/proto.js';
import type { WeightMap } from '../facenet/weights.js';
import { type Quantisation, TfLayers } from './layers.js';
import { ssdPriorCount } from '../../src/face/ssd.js';

export const SSD_MANIFEST = 'ssd_mobilenetv1_model-weights_manifest.json';
export const SSD_SIZE = 512;
export const SSD_PRIORS = 5118;
/** The quick first pass's input (docs/photos.md: 2.6× fewer pixels, the same faces on the development photos). */
export const SSD_QUICK_SIZE = 320;
const BN_EPS = 0.0010000000474974513;

/** The graph's input size after layer `idx` of MobileNetV1 (strides 2 at 0, 2, 4, 6, 12). */
const STRIDE2 = new Set([2, 4, 6, 12]);

/** The SSD graph: fp32, or with `quant` its probe or QDQ int8 form (models/photo/layers). */
export function ssdGraph(weights: WeightMap, quant?: Quantisation, inputSize = SSD_SIZE): { graph: GraphBuilder; points: string[] } {
  const g = new GraphBuilder('ssd_mobilenetv1');
  const L = new TfLayers(g, weights, SSD_MANIFEST, quant);
  const x = g.input('x', DataType.FLOAT, [1, 3, inputSize, inputSize]);
  let t = g.op('Sub', [
    g.op('Div', [x, g.constant('half_range', new Float32Array([127.5]), [])]),
    g.constant('one', new Float32Array([1]), []),
  ]);
  t = L.point(t, 'x');
  let size = inputSize;

  const pointwise = (input: string, n: number, prefix: string, idx: number, stride: number) => {
    const filters = `${prefix}/Conv2d_${idx}_pointwise/weights`;
    const cout = L.shapeOf(filters)[3]!;
    const offset = L.weight(`${prefix}/Conv2d_${idx}_pointwise/convolution_bn_offset`, [cout]);
    return L.point(L.relu6(L.conv(input, n, `${prefix}/pw${idx}`, filters, { stride, bias: offset })), `${prefix}/pw${idx}`);
  };

  t = pointwise(t, size, 'MobilenetV1', 0, 2);
  size = Math.ceil(size / 2);
  let conv11 = '';
  let size11 = 0;
  for (let idx = 1; idx <= 13; idx++) {
    const stride = STRIDE2.has(idx) ? 2 : 1;
    const prefix = `MobilenetV1/Conv2d_${idx}_depthwise`;
    const c = L.shapeOf(`${prefix}/depthwise_weights`)[2]!;
    const bn = L.batchNorm(`${prefix}/BatchNorm`, c, BN_EPS);
    t = L.relu6(L.conv(t, size, `dw${idx}`, `${prefix}/depthwise_weights`, { stride, bias: bn.shift, scale: bn.scale, depthwise: true }));
    t = L.point(t, `dw${idx}`);
    size = Math.ceil(size / stride);
    t = pointwise(t, size, 'MobilenetV1', idx, 1);
    if (idx === 11) [conv11, size11] = [t, size];
  }

  // Extra feature layers: conv_0 … conv_7 (strides 2 on the odd ones).
  const features: { t: string; size: number }[] = [
    { t: conv11, size: size11 },
    { t, size },
  ];
  let f = t;
  let fs = size;
  for (let idx = 0; idx <= 7; idx++) {
    const stride = idx % 2 === 1 ? 2 : 1;
    f = pointwise(f, fs, 'Prediction', idx, stride);
    fs = Math.ceil(fs / stride);
    if (stride === 2) features.push({ t: f, size: fs });
  }

  // Box predictors on the six feature maps: NCHW conv outputs → NHWC → [1, −1, 4] and [1, −1, 3].
  const boxes: string[] = [];
  const classes: string[] = [];
  features.forEach(({ t: feature, size: n }, i) => {
    const predict = (kind: string, per: number) => {
      const prefix = `Prediction/BoxPredictor_${i}/${kind}`;
      const cout = L.shapeOf(`${prefix}/weights`)[3]!;
      const out = L.conv(feature, n, `bp${i}/${kind}`, `${prefix}/weights`, { bias: L.weight(`${prefix}/biases`, [cout]) });
      const nhwc = g.op('Transpose', [out], { perm: [0, 2, 3, 1] });
      return g.op('Reshape', [nhwc, g.constant(`bp${i}/${kind}/shape`, BigInt64Array.from([1n, -1n, BigInt(per)]), [3])]);
    };
    boxes.push(predict('BoxEncodingPredictor', 4));
    classes.push(predict('ClassPredictor', 3));
  });
  g.node('Concat', boxes, { axis: 1 }, ['boxes']);
  g.node('Concat', classes, { axis: 1 }, ['classes']);
  const priors = ssdPriorCount(features.map((f) => f.size));
  g.output('boxes', DataType.FLOAT, [1, priors, 4]);
  g.output('classes', DataType.FLOAT, [1, priors, 3]);
  return { graph: g, points: L.points };
}

export const buildSsd = (weights: WeightMap, quant?: Quantisation, inputSize = SSD_SIZE): Uint8Array =>
  ssdGraph(weights, quant, inputSize).graph.serialize({
    doc: `face-api.js SSD MobileNetV1 face detector (raw box encodings and class logits)${quant && 'ranges' in quant ? '; QDQ int8' : ''}`,
  });

/**
 * The 5118 priors shipped with the weights for 512 px (ymin, xmin, ymax, xmax, normalised),
 * in prediction order; src/face/ssd `ssdPriors` generates them for any input size.
 */
export function shippedSsdPriors(weights: WeightMap): Float32Array {
  const L = new TfLayers(new GraphBuilder('priors'), weights, SSD_MANIFEST);
  return L.weight('Output/extra_dim', [1, SSD_PRIORS, 4]).slice();
}
