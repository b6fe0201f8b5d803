/**
 * @module models/photo/landmarks
 * face-api.js's FaceLandmark68Net as an ONNX graph, following
 * `@vladmandic/face-api/src/faceLandmarkNet/` and `faceFeatureExtractor/` op for op: input
 * `x[B,3,112,112]` as pixel values 0…255 (RGB, NCHW, the face crop padded to a square and
 * resized; the graph subtracts the mean RGB and divides by 255), four dense blocks of
 * depthwise-separable convs, a 7×7/2 average pool and a fully connected layer. Output
 * `landmarks[B,136]`: (x, y) of the 68 iBUG points, relative to the 112×112 input (0…1).
 */
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/proto.js';
import type { WeightMap } from '../facenet/weights.js';
import { MEAN_RGB } from '../facenet/network.js';
import { TfLayers } from './layers.js';

export const LANDMARKS_MANIFEST = 'face_landmark_68_model-weights_manifest.json';
export const LANDMARKS_SIZE = 112;

export function buildLandmarks(weights: WeightMap): Uint8Array {
  const g = new GraphBuilder('face_landmark_68');
  const L = new TfLayers(g, weights, LANDMARKS_MANIFEST);
  const x = g.input('x', DataType.FLOAT, ['B', 3, LANDMARKS_SIZE, LANDMARKS_SIZE]);
  const mean = g.constant('mean_rgb', Float32Array.from(MEAN_RGB), [1, 3, 1, 1]);
  let t = g.op('Div', [g.op('Sub', [x, mean]), g.constant('255', new Float32Array([255]), [])]);
  let size = LANDMARKS_SIZE;

  const separable = (input: string, n: number, prefix: string, stride: number) => {
    const pointwise = L.shapeOf(`${prefix}/pointwise_filter`);
    const dw = L.conv(input, n, `${prefix}/dw`, `${prefix}/depthwise_filter`, { stride, depthwise: true });
    return L.conv(dw, Math.ceil(n / stride), `${prefix}/pw`, `${prefix}/pointwise_filter`, {
      bias: L.weight(`${prefix}/bias`, [pointwise[3]!]),
    });
  };
  const relu = (a: string) => g.op('Relu', [a]);
  const add = (...xs: string[]) => xs.reduceRight((acc, v) => g.op('Add', [v, acc]));

  for (let b = 0; b < 4; b++) {
    const prefix = `dense${b}`;
    const first =
      b === 0
        ? L.conv(t, size, `${prefix}/conv0`, `${prefix}/conv0/filters`, {
            stride: 2,
            bias: L.weight(`${prefix}/conv0/bias`, [L.shapeOf(`${prefix}/conv0/filters`)[3]!]),
          })
        : separable(t, size, `${prefix}/conv0`, 2);
    size = Math.ceil(size / 2);
    const out1 = relu(first);
    const out2 = separable(out1, size, `${prefix}/conv1`, 1);
    const out3 = separable(relu(add(out1, out2)), size, `${prefix}/conv2`, 1);
    const out4 = separable(relu(add(out1, out2, out3)), size, `${prefix}/conv3`, 1);
    t = relu(add(out1, out2, out3, out4));
  }
  const pooled = g.op('AveragePool', [t], { kernel_shape: [7, 7], strides: [2, 2] });
  const flat = g.op('Flatten', [pooled], { axis: 1 });
  const [cin, cout] = L.shapeOf('fc/weights') as [number, number];
  const fc = g.op('MatMul', [flat, g.constant('fc/w', L.weight('fc/weights', [cin, cout]), [cin, cout])]);
  g.node('Add', [fc, g.constant('fc/b', L.weight('fc/bias', [cout]), [cout])], {}, ['landmarks']);
  g.output('landmarks', DataType.FLOAT, ['B', cout]);
  return g.serialize({ doc: 'face-api.js FaceLandmark68Net: 68 iBUG points relative to the 112×112 input' });
}
