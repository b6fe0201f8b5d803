/**
 * @module models/onnx/proto
 * Encode and decode ONNX ModelProto bytes with protobufjs and the schema subset in
 * `onnx.proto`. Decoded int64 fields come back as plain numbers.
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

const schemaText = readFileSync(new URL('./onnx.proto', import.meta.url), 'utf8');
const root = protobuf.parse(schemaText, { keepCase: true }).root;
const ModelProto = root.lookupType('onnx.ModelProto');

/** ONNX TensorProto.DataType values used by the toolchain. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;
export type DataTypeId = (typeof DataType)[keyof typeof DataType];

export interface TensorProto {
  name?: string;
  dims?: number[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: number[];
  double_data?: number[];
  external_data?: { key: string; value: string }[];
  /** 1 = EXTERNAL (raw bytes in external_data's location). */
  data_location?: number;
}
export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  floats?: number[];
  ints?: number[];
}
export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  op_type: string;
  domain?: string;
  attribute?: AttributeProto[];
}
export interface DimProto {
  dim_value?: number;
  dim_param?: string;
}
export interface ValueInfoProto {
  name: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: DimProto[] } } };
}
export interface GraphProto {
  name?: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  value_info?: ValueInfoProto[];
  doc_string?: string;
}
export interface ModelProto {
  ir_version: number;
  opset_import: { domain?: string; version: number }[];
  producer_name?: string;
  producer_version?: string;
  doc_string?: string;
  graph: GraphProto;
  metadata_props?: { key: string; value: string }[];
}

/** Serialise a model. Field order is schema order, so equal objects give equal bytes. */
export function encodeModel(model: ModelProto): Uint8Array {
  const message = ModelProto.fromObject(model);
  return ModelProto.encode(message).finish();
}

/** Parse ONNX model bytes into plain objects (int64 as number, bytes as Uint8Array). */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const message = ModelProto.decode(bytes);
  const obj = ModelProto.toObject(message, { longs: Number, arrays: true, defaults: false });
  return obj as ModelProto;
}
