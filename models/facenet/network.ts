/**
 * @module models/facenet/network
 * face-api.js's FaceRecognitionNet (dlib ResNet-29 style) as an ONNX graph, following
 * `@vladmandic/face-api/src/faceRecognitionNet/` op for op: 7×7/2 conv, 3×3/2 max-pool,
 * residual blocks (conv-scale-relu, conv-scale, add, relu), strided blocks whose shortcut
 * average-pools and zero-pads channels (and the conv branch gains a zero row/column when
 * the pooled shortcut is larger), spatial mean, fully connected 256→128.
 *
 * The per-channel scale layer is folded into the conv (W·s, b·s + t). The same topology
 * is emitted in fp32 or in QDQ int8 form (per-channel symmetric int8 weights, int32
 * biases, uint8 activations with calibrated ranges), and in a "probe" form that exposes
 * every quantisation point as an output for calibration.
 */
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/proto.js';
import { MANIFEST_FILE, type WeightMap, requireWeight } from './weights.js';

export const INPUT_SIZE = 150;
export const EMBEDDING_SIZE = 128;
export const MEAN_RGB = [122.782, 117.001, 104.298] as const;
export const PIXEL_SCALE = 1 / 255;

/** Activation range [min, max] per quantisation point, from calibration. */
export type ActivationRanges = Record<string, [number, number]>;

export interface BuildOptions {
  /** Emit QDQ int8 with these activation ranges. */
  int8?: { ranges: ActivationRanges; floatLayers?: string[] };
  /** Add every quantisation point as a graph output (fp32 only, for calibration). */
  probe?: boolean;
}

interface Block {
  name: string;
  cout: number;
  down: boolean;
}

const BLOCKS: Block[] = [
  { name: 'conv32_1', cout: 32, down: false },
  { name: 'conv32_2', cout: 32, down: false },
  { name: 'conv32_3', cout: 32, down: false },
  { name: 'conv64_down', cout: 64, down: true },
  { name: 'conv64_1', cout: 64, down: false },
  { name: 'conv64_2', cout: 64, down: false },
  { name: 'conv64_3', cout: 64, down: false },
  { name: 'conv128_down', cout: 128, down: true },
  { name: 'conv128_1', cout: 128, down: false },
  { name: 'conv128_2', cout: 128, down: false },
  { name: 'conv256_down', cout: 256, down: true },
  { name: 'conv256_1', cout: 256, down: false },
  { name: 'conv256_2', cout: 256, down: false },
  { name: 'conv256_down_out', cout: 256, down: true },
];

/** Output size of a 'valid' window of size k and stride s (TF semantics). */
const validOut = (n: number, k: number, s: number) => Math.floor((n - k) / s) + 1;

/** uint8 asymmetric quantisation parameters covering [min, max] (and 0). */
export function uint8Params([min, max]: [number, number]): { scale: number; zeroPoint: number } {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const scale = Math.fround(hi > lo ? (hi - lo) / 255 : 1);
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}

class FaceNetEmitter {
  readonly g = new GraphBuilder('face_resnet');
  /** Quantisation points in order of appearance (probe outputs / range keys). */
  readonly points: string[] = [];
  private readonly dq = new Map<string, { name: string; scale: number }>();

  constructor(
    private readonly weights: WeightMap,
    private readonly options: BuildOptions,
  ) {}

  private get int8() {
    return this.options.int8;
  }

  /** Mark `tensor` as a quantisation point named `key`; returns the name consumers use. */
  point(tensor: string, key: string): string {
    this.points.push(key);
    if (this.options.probe) {
      const named = this.g.node('Identity', [tensor], {}, [`probe:${key}`])[0]!;
      this.g.output(named, DataType.FLOAT, ['B', 'C', 'H', 'W']);
      return named;
    }
    if (!this.int8) return tensor;
    const range = this.int8.ranges[key];
    if (!range) throw new Error(`calibration has no activation range for ${key}: run \`npm run calibrate\``);
    const { scale, zeroPoint } = uint8Params(range);
    const s = this.g.constant(`${key}/scale`, new Float32Array([scale]), []);
    const z = this.g.constant(`${key}/zero_point`, new Uint8Array([zeroPoint]), []);
    const q = this.g.op('QuantizeLinear', [tensor, s, z]);
    const d = this.g.node('DequantizeLinear', [q, s, z], {}, [`${key}/dq`])[0]!;
    this.dq.set(d, { name: d, scale });
    return d;
  }

  /** Conv + folded scale (+ Relu), TF 'same' (stride 1) or 'valid' padding. */
  conv(x: string, prefix: string, stride: number, same: boolean, relu: boolean): string {
    const filters = this.weights.get(`${prefix}/conv/filters`);
    if (filters?.shape.length !== 4 || filters.shape[0] !== filters.shape[1]) {
      const found = filters ? `has shape [${filters.shape.join(',')}]` : 'is missing';
      throw new Error(`${MANIFEST_FILE}: tensor ${prefix}/conv/filters ${found}, expected a square [k,k,cin,cout] kernel`);
    }
    const [kh, kw, cin, cout] = filters.shape as [number, number, number, number];
    const bias = requireWeight(this.weights, `${prefix}/conv/bias`, [cout]).data;
    const sw = requireWeight(this.weights, `${prefix}/scale/weights`, [cout]).data;
    const sb = requireWeight(this.weights, `${prefix}/scale/biases`, [cout]).data;
    // HWIO → OIHW with the scale folded in.
    const w = new Float32Array(cout * cin * kh * kw);
    for (let o = 0; o < cout; o++)
      for (let i = 0; i < cin; i++)
        for (let y = 0; y < kh; y++)
          for (let z = 0; z < kw; z++) w[((o * cin + i) * kh + y) * kw + z] = filters.data[((y * kw + z) * cin + i) * cout + o]! * sw[o]!;
    const b = new Float32Array(cout);
    for (let o = 0; o < cout; o++) b[o] = bias[o]! * sw[o]! + sb[o]!;
    const pad = same ? (kh - 1) / 2 : 0;
    const attrs = { kernel_shape: [kh, kw], strides: [stride, stride], pads: [pad, pad, pad, pad] };

    let out: string;
    const quantised = this.int8 && !this.int8.floatLayers?.includes(prefix);
    if (quantised) {
      const xin = this.dq.get(x);
      if (!xin) throw new Error(`internal: conv ${prefix} input ${x} is not quantised`);
      const { wq, scales } = quantiseWeights(w, cout);
      const wName = this.g.constant(`${prefix}/w_int8`, wq, [cout, cin, kh, kw]);
      const wScale = this.g.constant(`${prefix}/w_scale`, scales, [cout]);
      const wZero = this.g.constant(`${prefix}/w_zero`, new Int8Array(cout), [cout]);
      const wDq = this.g.op('DequantizeLinear', [wName, wScale, wZero], { axis: 0 });
      const bScales = new Float32Array(cout);
      const bq = new Int32Array(cout);
      for (let o = 0; o < cout; o++) {
        bScales[o] = Math.fround(xin.scale * scales[o]!);
        bq[o] = Math.round(b[o]! / bScales[o]!);
      }
      const bName = this.g.constant(`${prefix}/b_int32`, bq, [cout]);
      const bScale = this.g.constant(`${prefix}/b_scale`, bScales, [cout]);
      const bZero = this.g.constant(`${prefix}/b_zero`, new Int32Array(cout), [cout]);
      const bDq = this.g.op('DequantizeLinear', [bName, bScale, bZero], { axis: 0 });
      out = this.g.op('Conv', [x, wDq, bDq], attrs);
    } else {
      const wName = this.g.constant(`${prefix}/w`, w, [cout, cin, kh, kw]);
      const bName = this.g.constant(`${prefix}/b`, b, [cout]);
      out = this.g.op('Conv', [x, wName, bName], attrs);
    }
    if (relu) out = this.g.op('Relu', [out]);
    return out;
  }

  residual(x: string, block: Block, inSize: number, cin: number): { out: string; size: number } {
    const { name, cout, down } = block;
    const stride = down ? 2 : 1;
    let out = this.conv(x, `${name}/conv1`, stride, !down, true);
    out = this.point(out, `${name}/conv1/out`);
    out = this.conv(out, `${name}/conv2`, 1, true, false);
    out = this.point(out, `${name}/conv2/out`);
    let shortcut = x;
    let size = inSize;
    if (down) {
      const convSize = validOut(inSize, 3, 2);
      size = validOut(inSize, 2, 2);
      shortcut = this.g.op('AveragePool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
      if (size !== convSize) {
        // face-api concatenates one zero row (bottom) and one zero column (right).
        if (size - convSize !== 1) throw new Error(`internal: ${name} shape mismatch ${size} vs ${convSize}`);
        const pads = this.g.constant(`${name}/pad_hw`, new BigInt64Array([0n, 0n, 0n, 0n, 0n, 0n, 1n, 1n]), [8]);
        out = this.g.op('Pad', [out, pads]);
      }
      if (cout !== cin) {
        const pads = this.g.constant(`${name}/pad_c`, new BigInt64Array([0n, 0n, 0n, 0n, 0n, BigInt(cout - cin), 0n, 0n]), [8]);
        shortcut = this.g.op('Pad', [shortcut, pads]);
      }
    }
    const sum = this.g.op('Relu', [this.g.op('Add', [out, shortcut])]);
    return { out: this.point(sum, `${name}/out`), size };
  }

  build(): GraphBuilder {
    const x = this.g.input('x', DataType.FLOAT, ['B', 3, INPUT_SIZE, INPUT_SIZE]);
    let t = this.point(x, 'x');
    t = this.conv(t, 'conv32_down', 2, false, true);
    let size = validOut(INPUT_SIZE, 7, 2);
    t = this.point(t, 'conv32_down/out');
    t = this.g.op('MaxPool', [t], { kernel_shape: [3, 3], strides: [2, 2] });
    t = this.point(t, 'pool/out');
    size = validOut(size, 3, 2);
    let channels = 32;
    for (const block of BLOCKS) {
      ({ out: t, size } = this.residual(t, block, size, channels));
      channels = block.cout;
    }
    const pooled = this.g.op('ReduceMean', [t], { axes: [2, 3], keepdims: 0 });
    const fc = requireWeight(this.weights, 'fc', [channels, EMBEDDING_SIZE]);
    const fcName = this.g.constant('fc/w', fc.data, [channels, EMBEDDING_SIZE]);
    const emb = this.g.node('MatMul', [pooled, fcName], {}, ['embedding'])[0]!;
    this.g.output(emb, DataType.FLOAT, ['B', EMBEDDING_SIZE]);
    return this.g;
  }
}

/** Per-output-channel symmetric int8 weights: scale = max|w|/127. */
export function quantiseWeights(w: Float32Array, cout: number): { wq: Int8Array; scales: Float32Array } {
  const per = w.length / cout;
  const wq = new Int8Array(w.length);
  const scales = new Float32Array(cout);
  for (let o = 0; o < cout; o++) {
    let m = 0;
    for (let i = 0; i < per; i++) m = Math.max(m, Math.abs(w[o * per + i]!));
    const s = Math.fround(m > 0 ? m / 127 : 1);
    scales[o] = s;
    for (let i = 0; i < per; i++) wq[o * per + i] = Math.max(-127, Math.min(127, Math.round(w[o * per + i]! / s)));
  }
  return { wq, scales };
}

/** Build the face net graph; returns the builder and the quantisation point names. */
export function buildFaceNet(weights: WeightMap, options: BuildOptions = {}): { graph: GraphBuilder; points: string[] } {
  const emitter = new FaceNetEmitter(weights, options);
  const graph = emitter.build();
  return { graph, points: emitter.points };
}
