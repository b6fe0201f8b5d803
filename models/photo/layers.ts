/**
 * @module models/photo/layers
 * TensorFlow layers of face-api's detector and landmark nets as ONNX nodes: weights from
 * HWIO (TF) to OIHW (ONNX), depthwise filters as grouped convs, TF 'same' padding
 * (the extra row/column at the end), batch norm folded into the preceding conv.
 */
import type { GraphBuilder } from '../onnx/builder.js';
import { type WeightMap, requireWeight } from '../facenet/weights.js';

/** Explicit ONNX pads for TF 'same' with kernel k and stride s on an input of size n. */
export function samePads(n: number, k: number, s: number): [number, number] {
  const out = Math.ceil(n / s);
  const total = Math.max((out - 1) * s + k - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** HWIO [k,k,cin,cout] → OIHW [cout,cin,k,k]. */
export function hwioToOihw(data: Float32Array, [kh, kw, cin, cout]: number[]): Float32Array {
  const w = new Float32Array(data.length);
  for (let o = 0; o < cout!; o++)
    for (let i = 0; i < cin!; i++)
      for (let y = 0; y < kh!; y++)
        for (let z = 0; z < kw!; z++) w[((o * cin! + i) * kh! + y) * kw! + z] = data[((y * kw! + z) * cin! + i) * cout! + o]!;
  return w;
}

/** Emits TF-style layers into a graph, tracking the spatial size (square inputs). */
export class TfLayers {
  constructor(
    readonly g: GraphBuilder,
    readonly weights: WeightMap,
    readonly source: string,
  ) {}

  weight(name: string, shape: number[]): Float32Array {
    return requireWeight(this.weights, name, shape, this.source).data;
  }

  shapeOf(name: string): number[] {
    const w = this.weights.get(name);
    if (!w) throw new Error(`${this.source}: tensor ${name} is missing`);
    return w.shape;
  }

  /** A full conv from HWIO weights (+ bias), TF 'same' padding unless `pads` (begin, end) are given; `fold` scales each output channel (a batch norm). */
  conv(
    x: string,
    size: number,
    name: string,
    filters: string,
    stride: number,
    bias?: Float32Array,
    fold?: { scale: Float32Array },
    pads?: [number, number],
  ): string {
    const shape = this.shapeOf(filters);
    const [k, , cin, cout] = shape as [number, number, number, number];
    const w = hwioToOihw(this.weight(filters, shape), shape);
    if (fold) for (let o = 0; o < cout; o++) for (let j = 0; j < cin * k * k; j++) w[o * cin * k * k + j]! *= fold.scale[o]!;
    const [p0, p1] = pads ?? samePads(size, k, stride);
    const inputs = [x, this.g.constant(`${name}/w`, w, [cout, cin, k, k])];
    if (bias) inputs.push(this.g.constant(`${name}/b`, bias, [cout]));
    return this.g.op('Conv', inputs, { kernel_shape: [k, k], strides: [stride, stride], pads: [p0, p0, p1, p1] });
  }

  /** A depthwise conv from [k,k,c,1] filters (+ bias), TF 'same' padding; `fold` scales each channel. */
  depthwise(
    x: string,
    size: number,
    name: string,
    filters: string,
    stride: number,
    bias?: Float32Array,
    fold?: { scale: Float32Array },
    pads?: [number, number],
  ): string {
    const shape = this.shapeOf(filters);
    const [k, , c] = shape as [number, number, number, number];
    const data = this.weight(filters, shape);
    const w = new Float32Array(c * k * k);
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < k; y++)
        for (let z = 0; z < k; z++) w[(ch * k + y) * k + z] = data[(y * k + z) * c + ch]! * (fold ? fold.scale[ch]! : 1);
    const [p0, p1] = pads ?? samePads(size, k, stride);
    const inputs = [x, this.g.constant(`${name}/w`, w, [c, 1, k, k])];
    if (bias) inputs.push(this.g.constant(`${name}/b`, bias, [c]));
    return this.g.op('Conv', inputs, { kernel_shape: [k, k], strides: [stride, stride], pads: [p0, p0, p1, p1], group: c });
  }

  /** Batch norm folded into a conv: per-channel scale γ/√(σ²+ε) and the shift β − μ·scale. */
  batchNorm(prefix: string, c: number, eps: number): { scale: Float32Array; shift: Float32Array } {
    const gamma = this.weight(`${prefix}/gamma`, [c]);
    const beta = this.weight(`${prefix}/beta`, [c]);
    const mean = this.weight(`${prefix}/moving_mean`, [c]);
    const variance = this.weight(`${prefix}/moving_variance`, [c]);
    const scale = new Float32Array(c);
    const shift = new Float32Array(c);
    for (let i = 0; i < c; i++) {
      scale[i] = gamma[i]! / Math.sqrt(variance[i]! + eps);
      shift[i] = beta[i]! - mean[i]! * scale[i]!;
    }
    return { scale, shift };
  }

  relu6(x: string): string {
    return this.g.op('Clip', [x, this.g.constant('zero', new Float32Array([0]), []), this.g.constant('six', new Float32Array([6]), [])]);
  }
}
