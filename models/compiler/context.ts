/**
 * @module models/compiler/context
 * What a backward rule sees: the forward graph's batch-1 shapes and constants, which
 * tensors depend on the input, and helpers that emit standard ONNX into the gradient
 * graph (constants, reductions in the form the target opset wants, the dynamic K).
 * Gradient tensors have the forward shape with the batch axis replaced by K.
 */
import type { GraphBuilder } from '../onnx/builder.js';
import type { NodeProto } from '../onnx/proto.js';
import type { ConstTensor } from './tensors.js';

/** A compile error naming the op, the node and what is supported. */
export class CompileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CompileError';
  }
}

export class GradContext {
  private kDimName: string | undefined;

  constructor(
    readonly g: GraphBuilder,
    readonly opset: number,
    private readonly shapes: Map<string, number[]>,
    private readonly consts: Map<string, ConstTensor>,
    private readonly activeSet: Set<string>,
    /** Name of the cotangent input, whose first dimension is K. */
    private readonly cot: string,
    /** Backward stride-1 convs reuse the forward weights (ConvTranspose) instead of flipped copies. */
    readonly shareWeights = false,
  ) {}

  shape(name: string): number[] {
    const s = this.shapes.get(name);
    if (!s) throw new CompileError(`internal: no shape for tensor ${name}`);
    return s;
  }

  isConst(name: string): boolean {
    return this.consts.has(name);
  }

  constValue(node: NodeProto, name: string | undefined, what: string): ConstTensor {
    const c = name ? this.consts.get(name) : undefined;
    if (!c) throw this.unsupported(node, `${what} must be a constant (initializer or Constant node)`);
    return c;
  }

  active(name: string | undefined): boolean {
    return !!name && this.activeSet.has(name);
  }

  unsupported(node: NodeProto, what: string): CompileError {
    return new CompileError(`${node.op_type} node "${node.name ?? node.output[0]}": ${what}`);
  }

  f32(prefix: string, data: ArrayLike<number>, dims: number[]): string {
    return this.g.constant(prefix, Float32Array.from(data), dims);
  }

  i64(prefix: string, data: number[]): string {
    return this.g.constant(prefix, BigInt64Array.from(data.map((v) => BigInt(v))), [data.length]);
  }

  op(type: string, inputs: string[], attrs: Parameters<GraphBuilder['op']>[2] = {}): string {
    return this.g.op(type, inputs, attrs);
  }

  /** ReduceSum / ReduceMean over `axes` (ReduceSum takes axes as an input in every opset we emit, ≥ 17; ReduceMean from 18). */
  reduce(type: 'ReduceSum' | 'ReduceMean', x: string, axes: number[], keepdims: boolean): string {
    if (type === 'ReduceSum' || this.opset >= 18) return this.op(type, [x, this.i64('axes', axes)], { keepdims: keepdims ? 1 : 0 });
    return this.op(type, [x], { axes, keepdims: keepdims ? 1 : 0 });
  }

  /** A [1]-shaped int64 tensor holding K (the number of cotangent rows). */
  kDim(): string {
    this.kDimName ??= this.op('Slice', [this.op('Shape', [this.cot]), this.i64('k_start', [0]), this.i64('k_end', [1])]);
    return this.kDimName;
  }

  /** Reshape a gradient to [K, ...dims] (the batch axis becomes -1). */
  reshapeK(x: string, dims: number[]): string {
    return this.op('Reshape', [x, this.i64('shape', [-1, ...dims])]);
  }

  /** Sum `grad` (shape [K, ...outShape[1:]]) over the axes along which `inShape` was broadcast. */
  unbroadcast(node: NodeProto, grad: string, outShape: number[], inShape: number[]): string {
    if (inShape.length !== outShape.length) {
      throw this.unsupported(
        node,
        `an input-dependent operand of rank ${inShape.length} broadcast to rank ${outShape.length} is unsupported (operands that depend on the image must keep the batch axis)`,
      );
    }
    const axes: number[] = [];
    for (let i = 1; i < outShape.length; i++) if (inShape[i] === 1 && outShape[i] !== 1) axes.push(i);
    return axes.length ? this.reduce('ReduceSum', grad, axes, true) : grad;
  }
}
