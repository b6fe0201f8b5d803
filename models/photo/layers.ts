/**
 * @module models/photo/layers
 * TensorFlow layers of face-api's detector and landmark nets as ONNX nodes: weights from
 * HWIO (TF) to OIHW (ONNX), depthwise filters as grouped convs, TF 'same' padding
 * (the extra row/column at the end), batch norm folded into the preceding conv.
 */
import type { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/proto.js';
import { quantiseWeights, uint8Params } from '../facenet/network.js';
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

/** Depthwise [k,k,c,1] → grouped-conv OIHW [c,1,k,k]. */
export function depthwiseToOihw(data: Float32Array, [kh, kw, c]: number[]): Float32Array {
  const w = new Float32Array(data.length);
  for (let ch = 0; ch < c!; ch++)
    for (let y = 0; y < kh!; y++) for (let z = 0; z < kw!; z++) w[(ch * kh! + y) * kw! + z] = data[(y * kw! + z) * c! + ch]!;
  return w;
}

export interface ConvOptions {
  stride?: number;
  bias?: Float32Array;
  /** Per-output-channel weight scale (a folded batch norm). */
  scale?: Float32Array;
  /** Explicit (begin, end) pads instead of TF 'same'. */
  pads?: [number, number];
  /** The filter is a TF depthwise filter [k,k,c,1]. */
  depthwise?: boolean;
}

/**
 * How a graph is emitted: fp32 (default), with every quantisation point as an extra output
 * (`probe`, to measure activation ranges), or as QDQ int8 with those ranges (`ranges`):
 * uint8 activations, per-channel int8 weights, int32 biases, fused by onnxruntime into
 * QLinearConv at load.
 */
export type Quantisation = { probe: true } | { ranges: Record<string, [number, number]> };

/** Emits TF-style layers into a graph, tracking the spatial size (square inputs). */
export class TfLayers {
  /** Quantisation points in order (probe outputs / range keys). */
  readonly points: string[] = [];
  private readonly dq = new Map<string, number>();

  constructor(
    readonly g: GraphBuilder,
    readonly weights: WeightMap,
    readonly source: string,
    readonly quant?: Quantisation,
  ) {}

  /** Mark `tensor` as a quantisation point `key`; returns the name its consumers use. */
  point(tensor: string, key: string): string {
    this.points.push(key);
    if (!this.quant) return tensor;
    if ('probe' in this.quant) {
      const named = this.g.node('Identity', [tensor], {}, [`probe:${key}`])[0]!;
      this.g.output(named, DataType.FLOAT, ['B', 'C', 'H', 'W']);
      return named;
    }
    const range = this.quant.ranges[key];
    if (!range) throw new Error(`no activation range for ${key}: recalibrate the detector`);
    const { scale, zeroPoint } = uint8Params(range);
    const s = this.g.constant(`${key}/scale`, new Float32Array([scale]), []);
    const z = this.g.constant(`${key}/zero_point`, new Uint8Array([zeroPoint]), []);
    const d = this.g.op('DequantizeLinear', [this.g.op('QuantizeLinear', [tensor, s, z]), s, z]);
    this.dq.set(d, scale);
    return d;
  }

  weight(name: string, shape: number[]): Float32Array {
    return requireWeight(this.weights, name, shape, this.source).data;
  }

  shapeOf(name: string): number[] {
    const w = this.weights.get(name);
    if (!w) throw new Error(`${this.source}: tensor ${name} is missing`);
    return w.shape;
  }

  /**
   * A conv from TF filters (+ bias): HWIO `[k,k,cin,cout]`, or with `depthwise` a
   * `[k,k,c,1]` depthwise filter (a grouped conv). TF 'same' padding unless `pads` (begin,
   * end) are given; `scale` multiplies each output channel's weights (a folded batch norm).
   */
  conv(x: string, size: number, name: string, filters: string, options: ConvOptions = {}): string {
    const { stride = 1, bias, scale, pads, depthwise = false } = options;
    const shape = this.shapeOf(filters);
    const [k, , cin, cout] = shape as [number, number, number, number];
    const out = depthwise ? cin : cout;
    const perOut = depthwise ? k * k : cin * k * k;
    const w = depthwise ? depthwiseToOihw(this.weight(filters, shape), shape) : hwioToOihw(this.weight(filters, shape), shape);
    if (scale) for (let o = 0; o < out; o++) for (let j = 0; j < perOut; j++) w[o * perOut + j]! *= scale[o]!;
    const [p0, p1] = pads ?? samePads(size, k, stride);
    const dims = [out, depthwise ? 1 : cin, k, k];
    const xScale = this.quant && 'ranges' in this.quant ? this.dq.get(x) : undefined;
    const inputs = [x];
    if (xScale !== undefined) {
      // QDQ: per-channel symmetric int8 weights and an int32 bias at scale x·w.
      const { wq, scales } = quantiseWeights(w, out);
      inputs.push(
        this.g.op(
          'DequantizeLinear',
          [
            this.g.constant(`${name}/wq`, wq, dims),
            this.g.constant(`${name}/ws`, scales, [out]),
            this.g.constant(`${name}/wz`, new Int8Array(out), [out]),
          ],
          { axis: 0 },
        ),
      );
      if (bias) {
        const bScales = scales.map((s) => Math.fround(xScale * s));
        const bq = Int32Array.from(bias, (v, o) => Math.round(v / bScales[o]!));
        inputs.push(
          this.g.op(
            'DequantizeLinear',
            [
              this.g.constant(`${name}/bq`, bq, [out]),
              this.g.constant(`${name}/bs`, bScales, [out]),
              this.g.constant(`${name}/bz`, new Int32Array(out), [out]),
            ],
            { axis: 0 },
          ),
        );
      }
    } else {
      inputs.push(this.g.constant(`${name}/w`, w, dims));
      if (bias) inputs.push(this.g.constant(`${name}/b`, bias, [out]));
    }
    const attrs = { kernel_shape: [k, k], strides: [stride, stride], pads: [p0, p0, p1, p1] };
    return this.g.op('Conv', inputs, depthwise ? { ...attrs, group: out } : attrs);
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
