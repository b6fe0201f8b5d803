/**
 * @module models/compiler/tensors
 * Read values and attributes out of decoded ONNX protos.
 */
import type { AttributeProto, NodeProto, TensorProto } from '../onnx/proto.js';
import { DataType } from '../onnx/proto.js';

export interface ConstTensor {
  dims: number[];
  data: Float64Array;
  dataType: number;
}

/** Values of a TensorProto as float64 (FLOAT, DOUBLE, INT32, INT64, INT8, UINT8, BOOL). */
export function tensorValues(t: TensorProto): ConstTensor {
  const dims = (t.dims ?? []).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const type = t.data_type ?? 0;
  const raw = t.raw_data?.length ? t.raw_data : undefined;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  const data = new Float64Array(count);
  const take = (fromRaw: (i: number) => number, list: number[] | undefined) => {
    for (let i = 0; i < count; i++) data[i] = view ? fromRaw(i) : Number(list?.[i] ?? 0);
  };
  switch (type) {
    case DataType.FLOAT:
      take((i) => view!.getFloat32(i * 4, true), t.float_data);
      break;
    case DataType.DOUBLE:
      take((i) => view!.getFloat64(i * 8, true), t.double_data);
      break;
    case DataType.INT64:
      take((i) => Number(view!.getBigInt64(i * 8, true)), t.int64_data);
      break;
    case DataType.INT32:
      take((i) => view!.getInt32(i * 4, true), t.int32_data);
      break;
    case DataType.INT8:
      take((i) => view!.getInt8(i), t.int32_data);
      break;
    case DataType.UINT8:
    case DataType.BOOL:
      take((i) => view!.getUint8(i), t.int32_data);
      break;
    default:
      throw new Error(`tensor ${t.name ?? '(unnamed)'}: data type ${type} is not supported`);
  }
  return { dims, data, dataType: type };
}

export function getAttr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}

export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = getAttr(node, name);
  return a?.i !== undefined ? Number(a.i) : fallback;
}

export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = getAttr(node, name);
  return a?.f !== undefined ? a.f : fallback;
}

export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = getAttr(node, name);
  return a?.ints ? a.ints.map(Number) : undefined;
}

export function attrString(node: NodeProto, name: string, fallback: string): string {
  const a = getAttr(node, name);
  return a?.s ? new TextDecoder().decode(a.s) : fallback;
}
