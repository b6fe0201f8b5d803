/**
 * @module models/compiler/compile
 * The gradient graph compiler: a forward ONNX embedding model (one image input
 * x[1,C,H,W], one embedding output [1,N]) → a standard-ONNX graph with inputs x,
 * cot[K,N], mean[1,N] and outputs
 *   embedding[1,N]  raw F,
 *   grad[K,C,H,W]   rows of cotᵀ · ∂f̂/∂x with f̂ = (F − μ)/(‖F − μ‖ + 1e-8),
 *   basis[K,H,W]    per row mean over colour of |grad|, divided by its L2 norm (+1e-8),
 *   basis16[K,H,W]  the same in float16 (round to nearest even): the stored form, handed
 *                   over at half the bytes.
 * The forward runs once at batch 1; masks and pooling indices broadcast over K. The
 * backward walks the nodes in reverse and asks the rule registry for each one.
 */
import * as ortNode from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType, type ModelProto, type NodeProto, type ValueInfoProto, decodeModel, encodeModel } from '../onnx/proto.js';
import { CompileError, GradContext } from './context.js';
import { BACKWARD_RULES, SUPPORTED_OPS } from './rules.js';
import { type ConstTensor, tensorValues } from './tensors.js';

export { CompileError, SUPPORTED_OPS };

/** The image input's name in every compiled graph, whatever the forward model called it. */
export const IMAGE_INPUT = 'x';
export const GRAD_INPUTS = [IMAGE_INPUT, 'cot', 'mean'] as const;
export const GRAD_OUTPUTS = ['embedding', 'grad', 'basis', 'basis16'] as const;
const EPS = 1e-8;

const dimsOf = (v: ValueInfoProto) =>
  (v.type?.tensor_type?.shape?.dim ?? []).map((d) => (d.dim_value !== undefined ? Number(d.dim_value) : (d.dim_param ?? '?')));

interface Forward {
  model: ModelProto;
  opset: number;
  input: string;
  output: string;
  inputShape: [number, number, number, number];
  n: number;
  consts: Map<string, ConstTensor>;
}

function validate(model: ModelProto): Forward {
  const g = model.graph;
  const opset = Math.max(...model.opset_import.filter((o) => !o.domain || o.domain === 'ai.onnx').map((o) => Number(o.version)));
  if (opset < 13) throw new CompileError(`opset ${opset} is too old: convert the model to opset ≥ 13`);
  const inits = new Set(g.initializer.map((t) => t.name!));
  const inputs = g.input.filter((i) => !inits.has(i.name));
  if (inputs.length !== 1)
    throw new CompileError(
      `the model must have exactly one image input; it has ${inputs.length} (${inputs.map((i) => i.name).join(', ')})`,
    );
  if (g.output.length !== 1)
    throw new CompileError(
      `the model must have exactly one embedding output; it has ${g.output.length} (${g.output.map((o) => o.name).join(', ')})`,
    );
  const dims = dimsOf(inputs[0]!);
  if (dims.length !== 4 || typeof dims[1] !== 'number' || typeof dims[2] !== 'number' || typeof dims[3] !== 'number') {
    throw new CompileError(`input ${inputs[0]!.name} must be [1,C,H,W] with static C, H, W; it is [${dims.join(',')}]`);
  }
  if (typeof dims[0] === 'number' && dims[0] !== 1)
    throw new CompileError(`input ${inputs[0]!.name} must have batch 1 or a symbolic batch; it has ${dims[0]}`);
  const outDims = dimsOf(g.output[0]!);
  if (outDims.length !== 2 || typeof outDims[1] !== 'number')
    throw new CompileError(`output ${g.output[0]!.name} must be [1,N] with static N; it is [${outDims.join(',')}]`);
  for (const node of g.node) {
    if (node.domain && node.domain !== 'ai.onnx')
      throw new CompileError(`${node.op_type} node "${node.name}" is in domain ${node.domain}; only standard ONNX ops are supported`);
  }
  const consts = new Map<string, ConstTensor>();
  for (const t of g.initializer) consts.set(t.name!, tensorValues(t));
  for (const node of g.node) {
    if (node.op_type !== 'Constant') continue;
    const value = node.attribute?.find((a) => a.name === 'value');
    if (!value?.t) throw new CompileError(`Constant node "${node.name}": only the tensor 'value' form is supported`);
    consts.set(node.output[0]!, tensorValues(value.t));
  }
  return {
    model,
    opset,
    input: inputs[0]!.name,
    output: g.output[0]!.name,
    inputShape: [1, dims[1], dims[2], dims[3]],
    n: outDims[1],
    consts,
  };
}

/** Batch-1 shapes of every tensor, by running the forward once in onnxruntime-node. */
async function inferShapes(fwd: Forward): Promise<Map<string, number[]>> {
  const probe = structuredClone(fwd.model);
  const names = probe.graph.node.flatMap((n) => n.output).filter((o) => o && o !== fwd.output);
  probe.graph.output = [...probe.graph.output, ...names.map((name) => ({ name }))];
  const [, c, h, w] = fwd.inputShape;
  let session: ortNode.InferenceSession;
  let result: ortNode.InferenceSession.ReturnType;
  try {
    session = await ortNode.InferenceSession.create(encodeModel(probe), { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
    result = await session.run({ [fwd.input]: new ortNode.Tensor('float32', new Float32Array(c * h * w), fwd.inputShape) });
  } catch (e) {
    throw new CompileError(`the model does not run in onnxruntime at batch 1: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const shapes = new Map<string, number[]>([[fwd.input, [...fwd.inputShape]]]);
  for (const [name, t] of Object.entries(result)) shapes.set(name, t.dims.map(Number));
  for (const [name, c] of fwd.consts) shapes.set(name, c.dims);
  await session.release();
  return shapes;
}

/** Tensors that depend on the image input. */
function activeTensors(fwd: Forward): Set<string> {
  const active = new Set([fwd.input]);
  for (const node of fwd.model.graph.node) if (node.input.some((i) => active.has(i))) node.output.forEach((o) => o && active.add(o));
  return active;
}

export interface CompileOptions {
  /** Name for the gradient graph (doc string). */
  name?: string;
  /**
   * Backward stride-1 convolutions as ConvTranspose over the forward weights instead of a
   * Conv over flipped copies: a smaller graph (no duplicated weights), slower in wasm.
   */
  shareWeights?: boolean;
}

/**
 * Forward rewrites, by op type: a forward node whose backward needs more than its usual
 * outputs is rewritten before the sweep (active MaxPools also emit their argmax indices).
 */
const FORWARD_REWRITES: Record<string, (node: NodeProto, g: GraphBuilder) => NodeProto> = {
  MaxPool: (node, g) => ({ ...node, output: [node.output[0]!, node.output[1] || g.fresh(`${node.output[0]}_indices`)] }),
};

/** Second outputs a backward rule may leave without gradient (they carry none). */
const GRADIENT_FREE_OUTPUTS = new Set(['MaxPool', 'Dropout']);

/** The forward model with its image input renamed to the documented name `x`. */
function bindImageInput(fwd: Forward): Forward {
  if (fwd.input === IMAGE_INPUT) return fwd;
  const rename = (t: string) => (t === fwd.input ? IMAGE_INPUT : t);
  const model = structuredClone(fwd.model);
  model.graph.input = model.graph.input.map((v) => ({ ...v, name: rename(v.name!) }));
  model.graph.node = model.graph.node.map((n) => ({ ...n, input: n.input.map(rename) }));
  return { ...fwd, model, input: IMAGE_INPUT, output: rename(fwd.output) };
}

/**
 * VJP through centring and L2 normalisation: d = F − μ, n = ‖d‖, f̂ = d/(n + ε):
 * gF = G/(n + ε) − (G·d) d / (n (n + ε)²). Returns gF's name.
 */
function normalisationHead(ctx: GradContext, output: string): string {
  const d = ctx.op('Sub', [output, 'mean']);
  const norm = ctx.op('Sqrt', [ctx.reduce('ReduceSum', ctx.op('Mul', [d, d]), [1], true)]);
  const normEps = ctx.op('Add', [norm, ctx.f32('eps', [EPS], [])]);
  const gd = ctx.reduce('ReduceSum', ctx.op('Mul', ['cot', d]), [1], true);
  const denom = ctx.op('Mul', [norm, ctx.op('Mul', [normEps, normEps])]);
  return ctx.op('Sub', [ctx.op('Div', ['cot', normEps]), ctx.op('Div', [ctx.op('Mul', [gd, d]), denom])]);
}

/**
 * The reverse sweep: walks the forward nodes backwards from the output's gradient, asks
 * the rule registry for each node's input gradients (checking each rule returns one per
 * input) and sums the contributions per tensor. Returns the gradient of `x`.
 */
function sweep(nodes: NodeProto[], ctx: GradContext, active: Set<string>, output: string, gOutput: string, x: string): string {
  const contributions = new Map<string, string[]>([[output, [gOutput]]]);
  const gradOf = (name: string): string | undefined => {
    const parts = contributions.get(name);
    if (!parts?.length) return undefined;
    const sum = parts.length === 1 ? parts[0]! : ctx.op('Sum', parts);
    contributions.set(name, [sum]);
    return sum;
  };
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (!node.input.some((t) => active.has(t))) continue;
    const gy = gradOf(node.output[0]!);
    if (!gy) continue;
    if (!GRADIENT_FREE_OUTPUTS.has(node.op_type) && node.output.slice(1).some((o) => o && contributions.get(o)?.length)) {
      throw ctx.unsupported(node, 'gradients through a second output are unsupported');
    }
    const grads = BACKWARD_RULES[node.op_type]!(node, gy, ctx);
    // The rule contract: at most one gradient per input, and one for every input that
    // depends on the image (a rule that cannot differentiate one must throw instead).
    const missing = node.input.findIndex((t, k) => active.has(t) && !grads[k]);
    if (grads.length > node.input.length || missing >= 0) {
      const what =
        missing >= 0
          ? `no gradient for input ${missing} (${node.input[missing]}), which depends on the image`
          : `${grads.length} gradients for ${node.input.length} inputs`;
      throw new CompileError(`the backward rule for ${node.op_type} returned ${what} (node "${node.name ?? node.output[0]}")`);
    }
    node.input.forEach((t, k) => {
      const gk = grads[k];
      if (gk && active.has(t)) contributions.set(t, [...(contributions.get(t) ?? []), gk]);
    });
  }
  const gx = gradOf(x);
  if (!gx) throw new CompileError(`no gradient reaches input ${x}`);
  return gx;
}

/** The graph's outputs: embedding, grad, and the normalised colour-mean |grad| basis (f32 and f16). */
function outputHeads(g: GraphBuilder, ctx: GradContext, fwd: Forward, gx: string): void {
  const [, c, h, w] = fwd.inputShape;
  g.node('Identity', [gx], {}, ['grad']);
  if (fwd.output !== 'embedding') g.node('Identity', [fwd.output], {}, ['embedding']);
  const saliency = ctx.reduce('ReduceMean', ctx.op('Abs', ['grad']), [1], false);
  const mapNorm = ctx.op('Sqrt', [ctx.reduce('ReduceSum', ctx.op('Mul', [saliency, saliency]), [1, 2], true)]);
  g.node('Div', [saliency, ctx.op('Add', [mapNorm, ctx.f32('eps', [EPS], [])])], {}, ['basis']);
  g.output('embedding', DataType.FLOAT, [1, fwd.n]);
  g.output('grad', DataType.FLOAT, ['K', c, h, w]);
  g.output('basis', DataType.FLOAT, ['K', h, w]);
  g.node('Cast', ['basis'], { to: DataType.FLOAT16 }, ['basis16']);
  g.output('basis16', DataType.FLOAT16, ['K', h, w]);
}

/** Compile the gradient graph; returns its ONNX bytes. Its image input is always named `x`. */
export async function compileGradient(modelBytes: Uint8Array, options: CompileOptions = {}): Promise<Uint8Array> {
  let model: ModelProto;
  try {
    model = decodeModel(modelBytes);
  } catch (e) {
    throw new CompileError(`not an ONNX model: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const checked = validate(model);
  const forwardNames = [
    ...checked.model.graph.node.flatMap((n) => [...n.input, ...n.output]),
    ...checked.model.graph.initializer.map((t) => t.name!),
  ];
  for (const name of [...GRAD_INPUTS, 'grad', 'basis', 'basis16', ...(checked.output === 'embedding' ? [] : ['embedding'])]) {
    if (name !== checked.input && forwardNames.includes(name))
      throw new CompileError(`the model already uses the tensor name "${name}", which the gradient graph needs`);
  }
  const fwd = bindImageInput(checked);
  const active = activeTensors(fwd);
  if (!active.has(fwd.output)) throw new CompileError(`output ${fwd.output} does not depend on input ${checked.input}`);
  const unsupported = fwd.model.graph.node.filter((n) => n.input.some((i) => active.has(i)) && !BACKWARD_RULES[n.op_type]);
  if (unsupported.length) {
    const n = unsupported[0]!;
    throw new CompileError(`${n.op_type} node "${n.name ?? n.output[0]}" has no backward rule; supported ops: ${SUPPORTED_OPS.join(', ')}`);
  }
  const shapes = await inferShapes(fwd);
  const opset = Math.max(17, fwd.opset);

  const g = new GraphBuilder(`${options.name ?? model.graph.name ?? 'model'}_grad`);
  g.reserve(...forwardNames, IMAGE_INPUT, ...fwd.model.graph.node.map((n) => n.name ?? ''));
  g.inputs.push({
    name: IMAGE_INPUT,
    type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: fwd.inputShape.map((d) => ({ dim_value: d })) } } },
  });
  g.input('cot', DataType.FLOAT, ['K', fwd.n]);
  g.input('mean', DataType.FLOAT, [1, fwd.n]);
  for (const t of fwd.model.graph.initializer) g.initializers.push(t);

  // Forward, batch 1, with the rewrites the backward needs.
  const nodes = fwd.model.graph.node.map((node) => {
    const rewrite = FORWARD_REWRITES[node.op_type];
    return rewrite && active.has(node.input[0]!) ? rewrite(node, g) : node;
  });
  nodes.forEach((n) => g.adopt(n));

  const ctx = new GradContext(g, opset, shapes, fwd.consts, active, 'cot', options.shareWeights ?? false);
  const gx = sweep(nodes, ctx, active, fwd.output, normalisationHead(ctx, fwd.output), IMAGE_INPUT);
  outputHeads(g, ctx, fwd, gx);
  return g.serialize({ opset, doc: `gradient graph of ${options.name ?? model.graph.name ?? 'model'} (xfv-edge compiler)` });
}
