/**
 * The compiler beyond the face net: a MobileFaceNet-style graph (depthwise convs, PRelu,
 * BN, a 7×7 global depthwise conv, 512-d) checked against the float64 reference through
 * random projections of the full Jacobian (all 512 rows, 3 directions, central
 * differences in float64), centred and not; and the failure cases that must stop
 * compilation with a clear error.
 */
import { describe, expect, it } from 'vitest';
import { CompileError, SUPPORTED_OPS, compileGradient } from '../../models/compiler/compile.js';
import { GraphBuilder } from '../../models/onnx/builder.js';
import { BACKWARD_RULES } from '../../models/compiler/rules.js';
import { OPS_DOC, opsDoc } from '../../models/compiler/ops-doc.js';
import { readFileSync } from 'node:fs';
import { DataType, decodeModel } from '../../models/onnx/proto.js';
import { ortWeb, webSession } from '../../eval/lib/ort.js';
import { evaluate, normalised } from '../oracle/f64.js';
import { mobileFaceNet } from '../fixtures/mobilefacenet.js';

describe('MobileFaceNet-style graph', () => {
  it('compiles, and grad = Jacobian of f̂ in random projections (f64 reference), plain and centred', async () => {
    const bytes = mobileFaceNet();
    const model = decodeModel(bytes);
    const grad = await compileGradient(bytes);
    const session = await webSession(grad);
    let seed = 5;
    const r = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647 - 0.5;
    };
    const D = 3 * 112 * 112;
    const N = 512;
    const x = Float64Array.from({ length: D }, () => r() * 2);
    for (const centred of [false, true]) {
      const mean = centred ? Float64Array.from({ length: N }, () => r()) : new Float64Array(N);
      // All N rows of ∂f̂/∂x, in chunks of 128.
      const rows: Float32Array[] = [];
      for (let k0 = 0; k0 < N; k0 += 128) {
        const cot = new Float32Array(128 * N);
        for (let i = 0; i < 128; i++) cot[i * N + k0 + i] = 1;
        const out = await session.run(
          {
            x: new ortWeb.Tensor('float32', Float32Array.from(x), [1, 3, 112, 112]),
            cot: new ortWeb.Tensor('float32', cot, [128, N]),
            mean: new ortWeb.Tensor('float32', Float32Array.from(mean), [1, N]),
          },
          ['grad'],
        );
        const g = out.grad!.data as Float32Array;
        for (let i = 0; i < 128; i++) rows.push(g.slice(i * D, (i + 1) * D));
      }
      for (let dir = 0; dir < 3; dir++) {
        const v = Float64Array.from({ length: D }, () => r());
        const h = 1e-6;
        const at = (sign: number) =>
          normalised(evaluate(model, { dims: [1, 3, 112, 112], data: x.map((xi, i) => xi + sign * h * v[i]!) }).data, mean);
        const fp = at(1);
        const fm = at(-1);
        let err = 0;
        let scale = 0;
        for (let k = 0; k < N; k++) {
          const fd = (fp[k]! - fm[k]!) / (2 * h);
          let jv = 0;
          const row = rows[k]!;
          for (let i = 0; i < D; i++) jv += row[i]! * v[i]!;
          err = Math.max(err, Math.abs(jv - fd));
          scale = Math.max(scale, Math.abs(fd));
        }
        expect(err / scale).toBeLessThanOrEqual(1e-4);
      }
    }
    await session.release();
  });
});

function tinyModel(
  edit: (g: GraphBuilder, x: string) => string,
  inputShape: (number | string)[] = ['B', 1, 4, 4],
  extraInput = false,
  inputName = 'x',
): Uint8Array {
  const g = new GraphBuilder('tiny');
  const x = g.input(inputName, DataType.FLOAT, inputShape);
  if (extraInput) g.input('y', DataType.FLOAT, [1, 4]);
  const out = g.node('Flatten', [edit(g, x)], {}, ['emb'])[0]!;
  g.output(out, DataType.FLOAT, ['B', 16]);
  return g.serialize();
}

describe('input binding', () => {
  it('names the image input x whatever the forward model calls it, and computes the same gradient', async () => {
    const net = (g: GraphBuilder, x: string) =>
      g.op('Relu', [
        g.op(
          'Conv',
          [
            x,
            g.constant(
              'w',
              Float32Array.from({ length: 9 }, (_, i) => (i - 4) / 7),
              [1, 1, 3, 3],
            ),
          ],
          { pads: [1, 1, 1, 1] },
        ),
      ]);
    const [named, plain] = await Promise.all([
      compileGradient(tinyModel(net, ['B', 1, 4, 4], false, 'input_1')),
      compileGradient(tinyModel(net)),
    ]);
    const x = Float32Array.from({ length: 16 }, (_, i) => Math.sin(i + 1));
    const cot = Float32Array.from({ length: 2 * 16 }, (_, i) => (i % 16 === i >> 4 ? 1 : 0.25));
    const grads: Float32Array[] = [];
    for (const bytes of [named, plain]) {
      const session = await webSession(bytes);
      expect(session.inputNames).toEqual(['x', 'cot', 'mean']);
      const out = await session.run(
        {
          x: new ortWeb.Tensor('float32', x, [1, 1, 4, 4]),
          cot: new ortWeb.Tensor('float32', cot, [2, 16]),
          mean: new ortWeb.Tensor('float32', new Float32Array(16), [1, 16]),
        },
        ['grad'],
      );
      grads.push(out.grad!.data as Float32Array);
      await session.release();
    }
    expect(grads[0]!.some((v) => v !== 0)).toBe(true);
    expect(Array.from(grads[0]!)).toEqual(Array.from(grads[1]!));
  });
});

describe('compile errors', () => {
  it('names an unsupported op, its node and the supported list', async () => {
    const bytes = tinyModel((g, x) => g.op('Sigmoid', [x]));
    const err = await compileGradient(bytes).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompileError);
    expect(String((err as Error).message)).toMatch(/^Sigmoid node "n_Sigmoid_0" has no backward rule; supported ops: .*Conv.*MaxPool/);
    expect(SUPPORTED_OPS).toEqual(
      expect.arrayContaining([
        'Conv',
        'BatchNormalization',
        'Relu',
        'PRelu',
        'LeakyRelu',
        'Clip',
        'Add',
        'Sub',
        'Mul',
        'Div',
        'MaxPool',
        'AveragePool',
        'GlobalAveragePool',
        'ReduceMean',
        'Pad',
        'Concat',
        'Slice',
        'Flatten',
        'Reshape',
        'Transpose',
        'Gemm',
        'MatMul',
      ]),
    );
  });

  it('names an unsupported attribute', async () => {
    const bytes = tinyModel((g, x) =>
      g.op('Pad', [x, g.constant('p', BigInt64Array.from([0n, 0n, 1n, 1n, 0n, 0n, 1n, 1n]), [8])], { mode: 'reflect' }),
    );
    await expect(compileGradient(bytes)).rejects.toThrow(/Pad node "n_Pad_0": mode reflect is unsupported \(only constant\)/);
  });

  it('stops when a backward rule breaks its contract (no gradient for an image-dependent input)', async () => {
    const relu = BACKWARD_RULES.Relu!;
    BACKWARD_RULES.Relu = () => [];
    try {
      await expect(compileGradient(tinyModel((g, x) => g.op('Relu', [x])))).rejects.toThrow(
        /the backward rule for Relu returned no gradient for input 0 \(x\), which depends on the image/,
      );
    } finally {
      BACKWARD_RULES.Relu = relu;
    }
  });

  it('refuses two inputs', async () => {
    await expect(compileGradient(tinyModel((_g, x) => x, ['B', 1, 4, 4], true))).rejects.toThrow(
      /exactly one image input; it has 2 \(x, y\)/,
    );
  });

  it('refuses a non-static H/W', async () => {
    await expect(compileGradient(tinyModel((_g, x) => x, ['B', 1, 'H', 'W']))).rejects.toThrow(
      /must be \[1,C,H,W\] with static C, H, W; it is \[B,1,H,W\]/,
    );
  });

  it('refuses weights that depend on the input, and bytes that are not ONNX', async () => {
    const bytes = tinyModel((g, x) => {
      const scale = g.op('ReduceMean', [x], { axes: [1, 2, 3], keepdims: 1 });
      return g.op('Conv', [x, g.op('Mul', [g.constant('w', new Float32Array(9).fill(0.1), [1, 1, 3, 3]), scale])], { pads: [1, 1, 1, 1] });
    });
    await expect(compileGradient(bytes)).rejects.toThrow(
      /^Conv node "n_Conv_0": weights or bias that depend on the input are unsupported$/,
    );
    const broken = tinyModel((g, x) => g.op('Add', [x, g.constant('b', new Float32Array(3), [3])]));
    await expect(compileGradient(broken)).rejects.toThrow(/the model does not run in onnxruntime/);
    await expect(compileGradient(new TextEncoder().encode('not a model at all'))).rejects.toThrow(CompileError);
  });
});

describe('docs/gradient-ops.md', () => {
  it('is the list the rule registry generates (npm run docs:ops)', () => {
    expect(readFileSync(OPS_DOC, 'utf8')).toBe(opsDoc());
  });
});
