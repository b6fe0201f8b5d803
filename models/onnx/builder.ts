/**
 * @module models/onnx/builder
 * A small typed builder for ONNX graphs: initializers from typed arrays, nodes with
 * attributes, inputs/outputs with (symbolic) shapes, and deterministic serialisation
 * (the same calls give the same bytes: names come from counters, never from time or
 * randomness).
 */
import {
  DataType,
  type AttributeProto,
  type DataTypeId,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
  encodeModel,
} from './proto.js';

export const DEFAULT_OPSET = 17;

/** A float attribute (plain numbers are ints, so floats are marked). */
export class FloatAttr {
  constructor(readonly value: number) {}
}
export class FloatsAttr {
  constructor(readonly values: number[]) {}
}
export const float = (v: number) => new FloatAttr(v);
export const floats = (v: number[]) => new FloatsAttr(v);

export type Attr = number | number[] | string | FloatAttr | FloatsAttr | TensorProto;
export type Dim = number | string;
export type TypedData = Float32Array | Float64Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

function dataTypeOf(data: TypedData): DataTypeId {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof Float64Array) return DataType.DOUBLE;
  if (data instanceof Int8Array) return DataType.INT8;
  if (data instanceof Uint8Array) return DataType.UINT8;
  if (data instanceof Int32Array) return DataType.INT32;
  return DataType.INT64;
}

/** A TensorProto holding `data` as little-endian raw bytes (x86/ARM are little-endian). */
export function tensor(name: string, data: TypedData, dims: number[]): TensorProto {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new Error(`tensor ${name}: ${data.length} values do not fill shape [${dims.join(',')}]`);
  }
  const raw = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  return { name, dims, data_type: dataTypeOf(data), raw_data: raw };
}

function attribute(name: string, value: Attr): AttributeProto {
  if (value instanceof FloatAttr) return { name, type: 1, f: value.value };
  if (value instanceof FloatsAttr) return { name, type: 6, floats: value.values };
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: ${value} is not an int; wrap floats with float()`);
    return { name, type: 2, i: value };
  }
  if (typeof value === 'string') return { name, type: 3, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: 7, ints: value };
  return { name, type: 4, t: value };
}

export function valueInfo(name: string, elemType: DataTypeId, shape: Dim[]): ValueInfoProto {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly inputs: ValueInfoProto[] = [];
  readonly outputs: ValueInfoProto[] = [];
  private readonly counters = new Map<string, number>();
  private readonly names = new Set<string>();

  constructor(readonly name: string) {}

  /** Mark existing names (e.g. of an adopted graph) as taken. */
  reserve(...names: string[]): void {
    for (const n of names) if (n) this.names.add(n);
  }

  /** Add a node as it is (names must be reserved by the caller). */
  adopt(node: NodeProto): void {
    this.nodes.push(node);
  }

  /** A fresh name `prefix_N`, unique within this graph. */
  fresh(prefix: string): string {
    for (;;) {
      const n = this.counters.get(prefix) ?? 0;
      this.counters.set(prefix, n + 1);
      const name = `${prefix}_${n}`;
      if (!this.names.has(name)) {
        this.names.add(name);
        return name;
      }
    }
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`graph ${this.name}: name ${name} is used twice`);
    this.names.add(name);
    return name;
  }

  input(name: string, elemType: DataTypeId, shape: Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), elemType, shape));
    return name;
  }

  /** Declare `value` (an existing tensor name) as a graph output. */
  output(value: string, elemType: DataTypeId, shape: Dim[]): string {
    this.outputs.push(valueInfo(value, elemType, shape));
    return value;
  }

  /** Add a constant; returns its name. */
  constant(prefix: string, data: TypedData, dims: number[]): string {
    const name = this.fresh(prefix);
    this.initializers.push(tensor(name, data, dims));
    return name;
  }

  /** Add an existing TensorProto as an initializer under its own name. */
  addInitializer(t: TensorProto): string {
    this.claim(t.name!);
    this.initializers.push(t);
    return t.name!;
  }

  /**
   * Add a node. `outputs` is a count (fresh names from the op type) or explicit names.
   * Returns the output names.
   */
  node(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs: number | string[] = 1, domain?: string): string[] {
    const outs =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()))
        : outputs.map((o) => this.claim(o));
    const attributes = Object.entries(attrs).map(([k, v]) => attribute(k, v));
    const node: NodeProto = { input: inputs, output: outs, name: this.fresh(`n_${opType}`), op_type: opType, attribute: attributes };
    if (domain) node.domain = domain;
    this.nodes.push(node);
    return outs;
  }

  /** Shorthand for a single-output node. */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    return this.node(opType, inputs, attrs, 1)[0]!;
  }

  graph(): GraphProto {
    return { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs };
  }

  model(options: { opset?: number; producer?: string; doc?: string; metadata?: Record<string, string> } = {}): ModelProto {
    const { opset = DEFAULT_OPSET, producer = 'xfv-edge', doc, metadata = {} } = options;
    return {
      ir_version: 8,
      opset_import: [{ domain: '', version: opset }],
      producer_name: producer,
      producer_version: '1',
      ...(doc ? { doc_string: doc } : {}),
      graph: this.graph(),
      metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    };
  }

  serialize(options: Parameters<GraphBuilder['model']>[0] = {}): Uint8Array {
    return encodeModel(this.model(options));
  }
}
