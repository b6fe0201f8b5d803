/**
 * Every backward rule against the float64 reference: tiny graphs (odd sizes, strides,
 * groups, broadcasting) → compiled gradient graph → rows of grad (cot = identity, with
 * and without centring) vs the central-difference Jacobian of f̂ in float64, in both
 * onnxruntime-node and onnxruntime-web. Relative error ≤ 1e-5.
 */
import { describe, expect, it } from 'vitest';
import { compileGradient } from '../../models/compiler/compile.js';
import { GraphBuilder, float } from '../../models/onnx/builder.js';
import { DataType, decodeModel } from '../../models/onnx/proto.js';
import { nodeSession, ortNode, ortWeb, webSession } from '../../eval/lib/ort.js';
import { evaluate, jacobian } from '../oracle/f64.js';

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let r = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

type Body = (g: GraphBuilder, x: string, r: () => number) => string;

const rand = (r: () => number, n: number, scale = 1) => Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
const w = (g: GraphBuilder, r: () => number, dims: number[], scale = 0.5) =>
  g.constant(
    'w',
    rand(
      r,
      dims.reduce((a, b) => a * b, 1),
      scale,
    ),
    dims,
  );
const i64 = (g: GraphBuilder, v: number[]) => g.constant('i', BigInt64Array.from(v.map(BigInt)), [v.length]);

interface Case {
  name: string;
  input: [number, number, number, number];
  body: Body;
}

const CASES: Case[] = [
  {
    name: 'Conv 3×3 stride 1 pad 1',
    input: [1, 2, 5, 5],
    body: (g, x, r) => g.op('Conv', [x, w(g, r, [3, 2, 3, 3]), w(g, r, [3])], { pads: [1, 1, 1, 1] }),
  },
  {
    name: 'Conv 3×3 stride 2 valid, odd size',
    input: [1, 2, 7, 7],
    body: (g, x, r) => g.op('Conv', [x, w(g, r, [3, 2, 3, 3])], { strides: [2, 2] }),
  },
  {
    name: 'Conv 3×3 stride 2 pad 1, asymmetric pads',
    input: [1, 2, 6, 5],
    body: (g, x, r) => g.op('Conv', [x, w(g, r, [2, 2, 3, 3])], { strides: [2, 2], pads: [1, 0, 0, 1] }),
  },
  {
    name: 'Conv 7×7 stride 2 valid',
    input: [1, 3, 11, 11],
    body: (g, x, r) => g.op('Conv', [x, w(g, r, [2, 3, 7, 7], 0.2)], { strides: [2, 2] }),
  },
  {
    name: 'Conv dilation 2',
    input: [1, 2, 7, 7],
    body: (g, x, r) => g.op('Conv', [x, w(g, r, [2, 2, 3, 3])], { dilations: [2, 2], pads: [2, 2, 2, 2] }),
  },
  {
    name: 'Conv depthwise stride 1',
    input: [1, 3, 5, 5],
    body: (g, x, r) => g.op('Conv', [x, w(g, r, [3, 1, 3, 3])], { group: 3, pads: [1, 1, 1, 1] }),
  },
  {
    name: 'Conv depthwise stride 2',
    input: [1, 3, 7, 7],
    body: (g, x, r) => g.op('Conv', [x, w(g, r, [3, 1, 3, 3])], { group: 3, strides: [2, 2], pads: [1, 1, 1, 1] }),
  },
  {
    name: 'Conv grouped (2 groups, multiplier 2)',
    input: [1, 4, 5, 5],
    body: (g, x, r) => g.op('Conv', [x, w(g, r, [4, 2, 3, 3])], { group: 2, pads: [1, 1, 1, 1] }),
  },
  {
    name: 'Conv auto_pad SAME_UPPER stride 2',
    input: [1, 2, 6, 6],
    body: (g, x, r) => g.op('Conv', [x, w(g, r, [2, 2, 3, 3])], { strides: [2, 2], auto_pad: 'SAME_UPPER' }),
  },
  {
    name: 'Conv 1×1 + BatchNormalization',
    input: [1, 3, 4, 4],
    body: (g, x, r) =>
      g.op(
        'BatchNormalization',
        [
          g.op('Conv', [x, w(g, r, [3, 3, 1, 1])]),
          w(g, r, [3]),
          w(g, r, [3]),
          w(g, r, [3]),
          g.constant('var', Float32Array.from([0.5, 1.5, 2]), [3]),
        ],
        { epsilon: float(1e-3) },
      ),
  },
  { name: 'Relu', input: [1, 2, 4, 4], body: (g, x) => g.op('Relu', [x]) },
  {
    name: 'PRelu (per channel)',
    input: [1, 3, 3, 3],
    body: (g, x) => g.op('PRelu', [x, g.constant('slope', Float32Array.from([0.1, 0.25, -0.3]), [3, 1, 1])]),
  },
  { name: 'LeakyRelu', input: [1, 2, 4, 3], body: (g, x) => g.op('LeakyRelu', [x], { alpha: float(0.2) }) },
  {
    name: 'Clip',
    input: [1, 2, 4, 4],
    body: (g, x) => g.op('Clip', [x, g.constant('lo', Float32Array.from([-0.5]), []), g.constant('hi', Float32Array.from([0.6]), [])]),
  },
  {
    name: 'Add broadcast constant + residual Add',
    input: [1, 2, 4, 4],
    body: (g, x, r) => g.op('Add', [g.op('Add', [x, w(g, r, [2, 1, 1])]), g.op('Relu', [x])]),
  },
  {
    name: 'Sub both ways, broadcast',
    input: [1, 2, 3, 4],
    body: (g, x, r) => g.op('Sub', [w(g, r, [1, 1, 4]), g.op('Sub', [x, g.op('ReduceMean', [x], { axes: [2], keepdims: 1 })])]),
  },
  {
    name: 'Mul active × active, × constant',
    input: [1, 2, 3, 3],
    body: (g, x, r) => g.op('Mul', [g.op('Mul', [x, x]), w(g, r, [2, 1, 1])]),
  },
  {
    name: 'Div by constant and by an active tensor',
    input: [1, 2, 3, 3],
    body: (g, x, r) =>
      g.op('Div', [
        g.op('Div', [x, w(g, r, [1, 3, 1], 1)]),
        g.op('Add', [g.op('Mul', [x, x]), g.constant('one', Float32Array.from([1]), [])]),
      ]),
  },
  {
    name: 'MaxPool 3×3 stride 2, odd size',
    input: [1, 2, 7, 7],
    body: (g, x) => g.op('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2] }),
  },
  {
    name: 'MaxPool 2×2 pad 1',
    input: [1, 2, 5, 5],
    body: (g, x) => g.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1] }),
  },
  {
    name: 'AveragePool 2×2 stride 2, odd size',
    input: [1, 2, 7, 7],
    body: (g, x) => g.op('AveragePool', [x], { kernel_shape: [2, 2], strides: [2, 2] }),
  },
  {
    name: 'AveragePool 3×3 pad 1 (count_include_pad 0)',
    input: [1, 2, 5, 5],
    body: (g, x) => g.op('AveragePool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
  },
  {
    name: 'AveragePool 3×3 pad 1 (count_include_pad 1)',
    input: [1, 2, 5, 5],
    body: (g, x) => g.op('AveragePool', [x], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 }),
  },
  { name: 'GlobalAveragePool', input: [1, 3, 4, 5], body: (g, x) => g.op('GlobalAveragePool', [g.op('Mul', [x, x])]) },
  {
    name: 'ReduceMean keepdims 0',
    input: [1, 3, 4, 4],
    body: (g, x) => g.op('ReduceMean', [g.op('Relu', [x])], { axes: [2, 3], keepdims: 0 }),
  },
  {
    name: 'Pad channels and spatial (constant)',
    input: [1, 2, 3, 3],
    body: (g, x) => g.op('Mul', [g.op('Pad', [x, i64(g, [0, 1, 0, 1, 0, 2, 1, 0])]), g.op('Pad', [x, i64(g, [0, 1, 0, 1, 0, 2, 1, 0])])]),
  },
  {
    name: 'Concat channels of two branches',
    input: [1, 2, 3, 3],
    body: (g, x, r) => g.op('Concat', [g.op('Relu', [x]), g.op('Mul', [x, w(g, r, [2, 1, 1])])], { axis: 1 }),
  },
  {
    name: 'Slice spatial with negative end',
    input: [1, 2, 5, 5],
    body: (g, x) => g.op('Slice', [g.op('Mul', [x, x]), i64(g, [1, 0]), i64(g, [-1, 4]), i64(g, [2, 3])]),
  },
  {
    name: 'Reshape, Transpose, Flatten',
    input: [1, 2, 3, 4],
    body: (g, x) =>
      g.op('Flatten', [g.op('Transpose', [g.op('Reshape', [g.op('Mul', [x, x]), i64(g, [1, 6, 4, 1])])], { perm: [0, 2, 3, 1] })]),
  },
  {
    name: 'Unsqueeze, Squeeze',
    input: [1, 2, 2, 3],
    body: (g, x) => g.op('Squeeze', [g.op('Unsqueeze', [g.op('Mul', [x, x]), i64(g, [2])]), i64(g, [2])]),
  },
  {
    name: 'Gemm transB with bias, alpha',
    input: [1, 2, 3, 3],
    body: (g, x, r) =>
      g.op('Gemm', [g.op('Flatten', [g.op('Relu', [x])]), w(g, r, [7, 18]), w(g, r, [7])], { transB: 1, alpha: float(0.7) }),
  },
  { name: 'MatMul', input: [1, 2, 2, 2], body: (g, x, r) => g.op('MatMul', [g.op('Flatten', [g.op('Mul', [x, x])]), w(g, r, [8, 6])]) },
];

async function buildCase(c: Case, seed: number) {
  const r = rng(seed);
  const g = new GraphBuilder('op_test');
  const x = g.input('x', DataType.FLOAT, ['B', ...c.input.slice(1)]);
  const y = g.op('Flatten', [c.body(g, x, r)]);
  const out = g.node('Identity', [y], {}, ['emb'])[0]!;
  g.output(out, DataType.FLOAT, ['B', 0]);
  const model = g.model();
  const input = { dims: [...c.input], data: Float64Array.from({ length: c.input.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1) };
  const n = evaluate(model, input).data.length;
  model.graph.output[0]!.type!.tensor_type!.shape!.dim![1] = { dim_value: n };
  return { model, input, n, mean: Float64Array.from({ length: n }, () => (r() - 0.5) * 0.4) };
}

const relError = (got: ArrayLike<number>, ref: Float64Array[]) => {
  let err = 0;
  let scale = 0;
  ref.forEach((row, k) =>
    row.forEach((v, j) => {
      err = Math.max(err, Math.abs(got[k * row.length + j]! - v));
      scale = Math.max(scale, Math.abs(v));
    }),
  );
  return err / scale;
};

describe('backward rules vs float64 central differences', () => {
  const variants = CASES.flatMap((c, i) => [
    [c.name, c, i, false] as const,
    ...(c.name.startsWith('Conv') ? [[`${c.name} (shareWeights)`, c, i, true] as const] : []),
  ]);
  it.each(variants)('%s', async (_name, c, i, shareWeights) => {
    const { model, input, n, mean } = await buildCase(c, 1000 + i);
    const { encodeModel } = await import('../../models/onnx/proto.js');
    const grad = await compileGradient(encodeModel(model), { shareWeights });
    expect(decodeModel(grad).graph.node.every((nd) => !nd.domain)).toBe(true);
    const cot = new Float32Array(n * n);
    for (let k = 0; k < n; k++) cot[k * n + k] = 1;
    for (const centred of [false, true]) {
      const mu = centred ? mean : new Float64Array(n);
      const ref = jacobian(model, input, mu);
      const feeds = <Tns>(T: new (type: 'float32', data: Float32Array, dims: number[]) => Tns) => ({
        x: new T('float32', Float32Array.from(input.data), input.dims),
        cot: new T('float32', cot, [n, n]),
        mean: new T('float32', Float32Array.from(mu), [1, n]),
      });
      const node = await nodeSession(grad);
      const web = await webSession(grad);
      const outNode = await node.run(feeds(ortNode.Tensor), ['grad', 'basis']);
      const outWeb = await web.run(feeds(ortWeb.Tensor), ['grad', 'basis']);
      expect(relError(outNode.grad!.data as Float32Array, ref)).toBeLessThanOrEqual(1e-5);
      expect(relError(outWeb.grad!.data as Float32Array, ref)).toBeLessThanOrEqual(1e-5);
      // basis = per-row mean over colour of |grad|, L2-normalised.
      const [, ch, h, wd] = input.dims as [number, number, number, number];
      const basisRef = ref.map((row) => {
        const m = new Float64Array(h * wd);
        for (let cc = 0; cc < ch; cc++) for (let p = 0; p < h * wd; p++) m[p]! += Math.abs(row[cc * h * wd + p]!) / ch;
        const norm = Math.sqrt(m.reduce((s, v) => s + v * v, 0)) + 1e-8;
        return m.map((v) => v / norm);
      });
      expect(relError(outWeb.basis!.data as Float32Array, basisRef)).toBeLessThanOrEqual(1e-4);
      await node.release();
      await web.release();
    }
  });
});
