/**
 * @module models/compiler/rules
 * The backward rules, one small function per forward op type: given the node and the
 * gradient of its output (shape [K, ...]), emit standard ONNX nodes computing the
 * gradient of each input (undefined for inputs that do not depend on the image). The
 * registry's keys are the supported-op list.
 */
import { DataType, type NodeProto } from '../onnx/proto.js';
import type { GradContext } from './context.js';
import { attrFloat, attrInt, attrInts, attrString } from './tensors.js';

export type Grad = string | undefined;
export type BackwardRule = (node: NodeProto, gy: string, ctx: GradContext) => Grad[];

const spatial = (shape: number[]) => shape.slice(2);

interface ConvGeometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** [begin..., end...] as in ONNX. */
  pads: number[];
}

/** Kernel, strides, dilations and explicit pads of a Conv/Pool node (auto_pad resolved). */
function geometry(node: NodeProto, ctx: GradContext, kernel: number[]): ConvGeometry {
  const inShape = ctx.shape(node.input[0]!);
  const outShape = ctx.shape(node.output[0]!);
  const n = kernel.length;
  const strides = attrInts(node, 'strides') ?? Array(n).fill(1);
  const dilations = attrInts(node, 'dilations') ?? Array(n).fill(1);
  let pads = attrInts(node, 'pads') ?? Array(2 * n).fill(0);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  if (autoPad === 'VALID') pads = Array(2 * n).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = Array(2 * n).fill(0);
    for (let i = 0; i < n; i++) {
      const total = Math.max(0, (outShape[i + 2]! - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - inShape[i + 2]!);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + n] = total - pads[i]!;
    }
  } else if (autoPad !== 'NOTSET') throw ctx.unsupported(node, `auto_pad ${autoPad} is unsupported`);
  return { kernel, strides, dilations, pads };
}

/** output_padding so that a transposed conv restores the forward input size. */
function outputPadding(node: NodeProto, ctx: GradContext, geo: ConvGeometry): number[] {
  const inSp = spatial(ctx.shape(node.input[0]!));
  const outSp = spatial(ctx.shape(node.output[0]!));
  const n = geo.kernel.length;
  return inSp.map((size, i) => {
    const produced = (outSp[i]! - 1) * geo.strides[i]! - geo.pads[i]! - geo.pads[i + n]! + (geo.kernel[i]! - 1) * geo.dilations[i]! + 1;
    const op = size - produced;
    if (op < 0 || op >= Math.max(geo.strides[i]!, geo.dilations[i]!))
      throw ctx.unsupported(node, `cannot restore input size ${size} (output_padding ${op})`);
    return op;
  });
}

const conv: BackwardRule = (node, gy, ctx) => {
  if (!ctx.active(node.input[0])) return [];
  if (ctx.active(node.input[1]) || ctx.active(node.input[2]))
    throw ctx.unsupported(node, 'weights or bias that depend on the input are unsupported');
  const w = ctx.constValue(node, node.input[1], 'the weight');
  const [cout, cinPerGroup, ...k] = w.dims as [number, number, ...number[]];
  const group = attrInt(node, 'group', 1);
  const geo = geometry(node, ctx, attrInts(node, 'kernel_shape') ?? k);
  const n = k.length;
  const backPads = geo.pads.map((p, i) => (geo.kernel[i % n]! - 1) * geo.dilations[i % n]! - p);
  const stride1 = !ctx.shareWeights && geo.strides.every((s) => s === 1) && backPads.every((p) => p >= 0) && n === 2;
  if (!stride1) {
    const gx = ctx.op('ConvTranspose', [gy, node.input[1]!], {
      strides: geo.strides,
      pads: geo.pads,
      dilations: geo.dilations,
      group,
      kernel_shape: geo.kernel,
      output_padding: outputPadding(node, ctx, geo),
    });
    return [gx];
  }
  // Stride 1: a Conv with in/out swapped per group and the kernel flipped (faster than
  // ConvTranspose in wasm, especially depthwise).
  const [kh, kw] = k as [number, number];
  const mo = cout / group;
  const cin = cinPerGroup * group;
  const flipped = new Float32Array(cin * mo * kh * kw);
  for (let gi = 0; gi < group; gi++)
    for (let o = 0; o < mo; o++)
      for (let i = 0; i < cinPerGroup; i++)
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++)
            flipped[(((gi * cinPerGroup + i) * mo + o) * kh + y) * kw + x] =
              w.data[(((gi * mo + o) * cinPerGroup + i) * kh + (kh - 1 - y)) * kw + (kw - 1 - x)]!;
  const wT = ctx.f32('conv_grad_w', flipped, [cin, mo, kh, kw]);
  return [ctx.op('Conv', [gy, wT], { kernel_shape: [kh, kw], pads: backPads, dilations: geo.dilations, group })];
};

const maskedBy = (ctx: GradContext, gy: string, mask: string) => ctx.op('Mul', [gy, mask]);
const positive = (ctx: GradContext, x: string) => ctx.op('Greater', [x, ctx.f32('zero', [0], [])]);

const relu: BackwardRule = (node, gy, ctx) => [maskedBy(ctx, gy, ctx.op('Cast', [positive(ctx, node.input[0]!)], { to: DataType.FLOAT }))];

const leakyRelu: BackwardRule = (node, gy, ctx) => {
  const alpha = attrFloat(node, 'alpha', 0.01);
  return [maskedBy(ctx, gy, ctx.op('Where', [positive(ctx, node.input[0]!), ctx.f32('one', [1], []), ctx.f32('alpha', [alpha], [])]))];
};

const prelu: BackwardRule = (node, gy, ctx) => {
  if (ctx.active(node.input[1])) throw ctx.unsupported(node, 'a slope that depends on the input is unsupported');
  return [maskedBy(ctx, gy, ctx.op('Where', [positive(ctx, node.input[0]!), ctx.f32('one', [1], []), node.input[1]!]))];
};

const clip: BackwardRule = (node, gy, ctx) => {
  const x = node.input[0]!;
  let lo: number | undefined;
  let hi: number | undefined;
  if (node.input[1]) lo = ctx.constValue(node, node.input[1], 'min').data[0];
  if (node.input[2]) hi = ctx.constValue(node, node.input[2], 'max').data[0];
  let mask: string | undefined;
  if (lo !== undefined && lo > -Infinity) mask = ctx.op('Greater', [x, ctx.f32('clip_min', [lo], [])]);
  if (hi !== undefined && hi < Infinity) {
    const below = ctx.op('Less', [x, ctx.f32('clip_max', [hi], [])]);
    mask = mask ? ctx.op('And', [mask, below]) : below;
  }
  return [mask ? maskedBy(ctx, gy, ctx.op('Cast', [mask], { to: DataType.FLOAT })) : gy];
};

const addSub =
  (sign: 1 | -1): BackwardRule =>
  (node, gy, ctx) => {
    const out = ctx.shape(node.output[0]!);
    const [a, b] = node.input as [string, string];
    const ga = ctx.active(a) ? ctx.unbroadcast(node, gy, out, ctx.shape(a)) : undefined;
    let gb = ctx.active(b) ? ctx.unbroadcast(node, gy, out, ctx.shape(b)) : undefined;
    if (gb && sign < 0) gb = ctx.op('Neg', [gb]);
    return [ga, gb];
  };

const mul: BackwardRule = (node, gy, ctx) => {
  const out = ctx.shape(node.output[0]!);
  const [a, b] = node.input as [string, string];
  return [
    ctx.active(a) ? ctx.unbroadcast(node, ctx.op('Mul', [gy, b]), out, ctx.shape(a)) : undefined,
    ctx.active(b) ? ctx.unbroadcast(node, ctx.op('Mul', [gy, a]), out, ctx.shape(b)) : undefined,
  ];
};

const div: BackwardRule = (node, gy, ctx) => {
  const out = ctx.shape(node.output[0]!);
  const [a, b] = node.input as [string, string];
  // d(a/b)/da = 1/b; d(a/b)/db = -(a/b)/b = -y/b.
  return [
    ctx.active(a) ? ctx.unbroadcast(node, ctx.op('Div', [gy, b]), out, ctx.shape(a)) : undefined,
    ctx.active(b)
      ? ctx.unbroadcast(node, ctx.op('Neg', [ctx.op('Mul', [gy, ctx.op('Div', [node.output[0]!, b])])]), out, ctx.shape(b))
      : undefined,
  ];
};

const maxPool: BackwardRule = (node, gy, ctx) => {
  if (attrInt(node, 'storage_order', 0) !== 0) throw ctx.unsupported(node, 'storage_order 1 is unsupported');
  const indices = node.output[1];
  if (!indices) throw ctx.unsupported(node, 'internal: MaxPool indices were not emitted');
  const inShape = ctx.shape(node.input[0]!);
  const outShape = ctx.shape(node.output[0]!);
  const inCount = inShape.slice(1).reduce((a, b) => a * b, 1);
  const outCount = outShape.slice(1).reduce((a, b) => a * b, 1);
  // Scatter-add each output's gradient into the position its max came from.
  const rows = (count: number) => ctx.op('Concat', [ctx.kDim(), ctx.i64('count', [count])], { axis: 0 });
  const idx = ctx.op('Expand', [ctx.op('Reshape', [indices, ctx.i64('shape', [1, outCount])]), rows(outCount)]);
  const zeros = ctx.op('ConstantOfShape', [rows(inCount)], {
    value: { name: 'value', dims: [1], data_type: DataType.FLOAT, raw_data: new Uint8Array(4) },
  });
  const flat = ctx.reshapeK(gy, [outCount]);
  const scattered = ctx.op('ScatterElements', [zeros, idx, flat], { axis: 1, reduction: 'add' });
  return [ctx.reshapeK(scattered, inShape.slice(1))];
};

const averagePool: BackwardRule = (node, gy, ctx) => {
  const kernel = attrInts(node, 'kernel_shape')!;
  const geo = geometry(node, ctx, kernel);
  if (geo.dilations.some((d) => d !== 1)) throw ctx.unsupported(node, 'dilations are unsupported');
  if (kernel.length !== 2) throw ctx.unsupported(node, 'only 2-D pooling is supported');
  const includePad = attrInt(node, 'count_include_pad', 0) === 1;
  const [, c, h, w] = ctx.shape(node.input[0]!) as [number, number, number, number];
  const [, , ho, wo] = ctx.shape(node.output[0]!) as [number, number, number, number];
  const [kh, kw] = kernel as [number, number];
  const [sh, sw] = geo.strides as [number, number];
  const [pt, pl, pb, pr] = geo.pads as [number, number, number, number];
  // 1/count per output cell, as the forward divided by it.
  const inv = new Float32Array(ho * wo);
  for (let y = 0; y < ho; y++)
    for (let x = 0; x < wo; x++) {
      const y0 = y * sh - pt;
      const x0 = x * sw - pl;
      const [ylo, yhi] = includePad ? [Math.max(y0, -pt), Math.min(y0 + kh, h + pb)] : [Math.max(y0, 0), Math.min(y0 + kh, h)];
      const [xlo, xhi] = includePad ? [Math.max(x0, -pl), Math.min(x0 + kw, w + pr)] : [Math.max(x0, 0), Math.min(x0 + kw, w)];
      inv[y * wo + x] = 1 / Math.max(1, (yhi - ylo) * (xhi - xlo));
    }
  const scaled = ctx.op('Mul', [gy, ctx.f32('avgpool_inv_count', inv, [1, 1, ho, wo])]);
  const ones = ctx.f32('avgpool_ones', new Float32Array(c * kh * kw).fill(1), [c, 1, kh, kw]);
  return [
    ctx.op('ConvTranspose', [scaled, ones], {
      strides: geo.strides,
      pads: geo.pads,
      group: c,
      kernel_shape: kernel,
      output_padding: outputPadding(node, ctx, geo),
    }),
  ];
};

const globalAveragePool: BackwardRule = (node, gy, ctx) => {
  const sp = spatial(ctx.shape(node.input[0]!));
  const count = sp.reduce((a, b) => a * b, 1);
  return [ctx.op('Mul', [gy, ctx.f32('gap_scale', new Float32Array(count).fill(1 / count), [1, 1, ...sp])])];
};

const reduceMean: BackwardRule = (node, gy, ctx) => {
  const inShape = ctx.shape(node.input[0]!);
  let axes = attrInts(node, 'axes');
  if (!axes && node.input[1]) axes = Array.from(ctx.constValue(node, node.input[1], 'axes').data);
  if (!axes) axes = inShape.map((_, i) => i);
  axes = axes.map((a) => (a < 0 ? a + inShape.length : a));
  if (axes.includes(0)) throw ctx.unsupported(node, 'reducing over the batch axis is unsupported');
  const keep = attrInt(node, 'keepdims', 1) === 1;
  const kept = inShape.map((d, i) => (axes!.includes(i) ? 1 : d));
  const g = keep ? gy : ctx.reshapeK(gy, kept.slice(1));
  const count = axes.reduce((p, a) => p * inShape[a]!, 1);
  const scaleShape = inShape.map((d, i) => (axes!.includes(i) ? d : 1));
  const size = scaleShape.reduce((a, b) => a * b, 1);
  return [ctx.op('Mul', [g, ctx.f32('mean_scale', new Float32Array(size).fill(1 / count), scaleShape)])];
};

const pad: BackwardRule = (node, gy, ctx) => {
  const mode = attrString(node, 'mode', 'constant');
  if (mode !== 'constant') throw ctx.unsupported(node, `mode ${mode} is unsupported (only constant)`);
  const inShape = ctx.shape(node.input[0]!);
  const r = inShape.length;
  const raw = Array.from(ctx.constValue(node, node.input[1], 'pads').data);
  const axes = node.input[3]
    ? Array.from(ctx.constValue(node, node.input[3], 'axes').data).map((a) => (a < 0 ? a + r : a))
    : inShape.map((_, i) => i);
  const begin = Array(r).fill(0);
  const end = Array(r).fill(0);
  axes.forEach((a, i) => {
    begin[a] = raw[i]!;
    end[a] = raw[i + axes.length]!;
  });
  if (begin[0] || end[0]) throw ctx.unsupported(node, 'padding the batch axis is unsupported');
  if ([...begin, ...end].some((p) => p < 0)) throw ctx.unsupported(node, 'negative pads are unsupported');
  const sliceAxes = inShape.map((_, i) => i).filter((i) => i > 0 && (begin[i] || end[i]));
  if (!sliceAxes.length) return [gy];
  return [
    ctx.op('Slice', [
      gy,
      ctx.i64(
        'starts',
        sliceAxes.map((a) => begin[a]),
      ),
      ctx.i64(
        'ends',
        sliceAxes.map((a) => begin[a] + inShape[a]!),
      ),
      ctx.i64('axes', sliceAxes),
    ]),
  ];
};

const concat: BackwardRule = (node, gy, ctx) => {
  const r = ctx.shape(node.output[0]!).length;
  let axis = attrInt(node, 'axis', 0);
  if (axis < 0) axis += r;
  if (axis === 0) throw ctx.unsupported(node, 'concatenating along the batch axis is unsupported');
  let offset = 0;
  return node.input.map((x) => {
    const size = ctx.shape(x)[axis]!;
    const start = offset;
    offset += size;
    if (!ctx.active(x)) return undefined;
    return ctx.op('Slice', [gy, ctx.i64('starts', [start]), ctx.i64('ends', [start + size]), ctx.i64('axes', [axis])]);
  });
};

const slice: BackwardRule = (node, gy, ctx) => {
  const inShape = ctx.shape(node.input[0]!);
  const r = inShape.length;
  const values = (i: number, what: string) => (node.input[i] ? Array.from(ctx.constValue(node, node.input[i], what).data) : undefined);
  const starts = values(1, 'starts')!;
  const ends = values(2, 'ends')!;
  const axes = values(3, 'axes') ?? starts.map((_, i) => i);
  const steps = values(4, 'steps') ?? starts.map(() => 1);
  if (steps.some((s) => s !== 1)) throw ctx.unsupported(node, 'steps other than 1 are unsupported');
  const padBegin = Array(r).fill(0);
  const padEnd = Array(r).fill(0);
  axes.forEach((a0, i) => {
    const a = a0 < 0 ? a0 + r : a0;
    const dim = inShape[a]!;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
    const s = clamp(starts[i]!);
    const e = Math.max(s, clamp(ends[i]!));
    padBegin[a] = s;
    padEnd[a] = dim - e;
  });
  if (padBegin[0] || padEnd[0]) throw ctx.unsupported(node, 'slicing the batch axis is unsupported');
  return [ctx.op('Pad', [gy, ctx.i64('pads', [...padBegin, ...padEnd])])];
};

/** Ops that only rearrange values while keeping the batch axis first. */
const reshapeLike: BackwardRule = (node, gy, ctx) => {
  const inShape = ctx.shape(node.input[0]!);
  const outShape = ctx.shape(node.output[0]!);
  if (inShape[0] !== 1 || outShape[0] !== 1)
    throw ctx.unsupported(node, `it must keep a batch axis of 1 first (in [${inShape}], out [${outShape}])`);
  return [ctx.reshapeK(gy, inShape.slice(1))];
};

const squeezeLike: BackwardRule = (node, gy, ctx) => {
  const axes = attrInts(node, 'axes') ?? (node.input[1] ? Array.from(ctx.constValue(node, node.input[1], 'axes').data) : []);
  const r = Math.max(ctx.shape(node.input[0]!).length, ctx.shape(node.output[0]!).length);
  if (axes.some((a) => a === 0 || a === -r)) throw ctx.unsupported(node, 'squeezing or unsqueezing the batch axis is unsupported');
  return reshapeLike(node, gy, ctx);
};

const transpose: BackwardRule = (node, gy, ctx) => {
  const r = ctx.shape(node.input[0]!).length;
  const perm = attrInts(node, 'perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
  if (perm[0] !== 0) throw ctx.unsupported(node, 'moving the batch axis is unsupported (perm[0] must be 0)');
  const inverse = Array<number>(r);
  perm.forEach((p, i) => (inverse[p] = i));
  return [ctx.op('Transpose', [gy], { perm: inverse })];
};

/** gA = gY · M for a constant M [N, Kin] given as rows of N. */
function matmulConst(ctx: GradContext, gy: string, m: Float32Array, n: number, kin: number): string {
  return ctx.op('MatMul', [gy, ctx.f32('matmul_grad_w', m, [n, kin])]);
}

const gemm: BackwardRule = (node, gy, ctx) => {
  if (attrInt(node, 'transA', 0) !== 0) throw ctx.unsupported(node, 'transA = 1 is unsupported (the batch must be rows of A)');
  if (ctx.active(node.input[1]) || ctx.active(node.input[2])) throw ctx.unsupported(node, 'B or C depending on the input is unsupported');
  const b = ctx.constValue(node, node.input[1], 'B');
  const alpha = attrFloat(node, 'alpha', 1);
  const transB = attrInt(node, 'transB', 0) === 1;
  const [r, c] = b.dims as [number, number];
  const [kin, n] = transB ? [c, r] : [r, c];
  // op(B) is [kin, n]; gA = alpha · gY · op(B)ᵀ, with op(B)ᵀ = [n, kin].
  const m = new Float32Array(n * kin);
  for (let j = 0; j < n; j++) for (let i = 0; i < kin; i++) m[j * kin + i] = alpha * (transB ? b.data[j * c + i]! : b.data[i * c + j]!);
  return [matmulConst(ctx, gy, m, n, kin)];
};

const matmul: BackwardRule = (node, gy, ctx) => {
  if (ctx.active(node.input[1])) throw ctx.unsupported(node, 'a right operand that depends on the input is unsupported');
  const b = ctx.constValue(node, node.input[1], 'the right operand');
  if (b.dims.length !== 2) throw ctx.unsupported(node, 'the right operand must be a 2-D constant');
  const [kin, n] = b.dims as [number, number];
  const m = new Float32Array(n * kin);
  for (let j = 0; j < n; j++) for (let i = 0; i < kin; i++) m[j * kin + i] = b.data[i * n + j]!;
  return [matmulConst(ctx, gy, m, n, kin)];
};

const batchNorm: BackwardRule = (node, gy, ctx) => {
  if (attrInt(node, 'training_mode', 0) !== 0) throw ctx.unsupported(node, 'training_mode is unsupported (inference only)');
  const scale = ctx.constValue(node, node.input[1], 'scale');
  const variance = ctx.constValue(node, node.input[4], 'var');
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const r = ctx.shape(node.input[0]!).length;
  const factor = Array.from(scale.data, (s, i) => s / Math.sqrt(variance.data[i]! + eps));
  return [ctx.op('Mul', [gy, ctx.f32('bn_grad_scale', factor, [factor.length, ...Array(Math.max(0, r - 2)).fill(1)])])];
};

const identity: BackwardRule = (_node, gy) => [gy];

export const BACKWARD_RULES: Record<string, BackwardRule> = {
  Conv: conv,
  BatchNormalization: batchNorm,
  Relu: relu,
  PRelu: prelu,
  LeakyRelu: leakyRelu,
  Clip: clip,
  Add: addSub(1),
  Sub: addSub(-1),
  Mul: mul,
  Div: div,
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
  ReduceMean: reduceMean,
  Pad: pad,
  Concat: concat,
  Slice: slice,
  Flatten: reshapeLike,
  Reshape: reshapeLike,
  Squeeze: squeezeLike,
  Unsqueeze: squeezeLike,
  Transpose: transpose,
  Gemm: gemm,
  MatMul: matmul,
  Identity: identity,
  Dropout: identity,
};

export const SUPPORTED_OPS = Object.keys(BACKWARD_RULES).sort();
