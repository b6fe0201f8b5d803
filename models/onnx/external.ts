/**
 * @module models/onnx/external
 * Move a model's large initializers into an ONNX external-data file (the standard
 * `location` / `offset` / `length` entries, 64-byte aligned offsets). onnxruntime then
 * copies each weight straight from that buffer into place instead of first copying the
 * whole model into its heap: the Worker's gradient graph loads with ~30 MB less peak heap.
 */
import { type ModelProto, decodeModel, encodeModel } from './proto.js';

export const EXTERNAL_ALIGN = 64;

export interface ExternalisedModel {
  /** The model without the moved weights (graph, attributes, small initializers). */
  graph: Uint8Array;
  /** The moved weights, at the offsets the graph names. */
  data: Uint8Array;
}

/** Move every initializer with at least `minBytes` of raw data to `location`. */
export function externaliseWeights(modelBytes: Uint8Array, location: string, minBytes = 1024): ExternalisedModel {
  const model: ModelProto = decodeModel(modelBytes);
  const pieces: Uint8Array[] = [];
  let offset = 0;
  for (const t of model.graph.initializer) {
    if (!t.raw_data || t.raw_data.length < minBytes) continue;
    const pad = (EXTERNAL_ALIGN - (offset % EXTERNAL_ALIGN)) % EXTERNAL_ALIGN;
    if (pad) pieces.push(new Uint8Array(pad));
    offset += pad;
    pieces.push(t.raw_data);
    t.external_data = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(t.raw_data.length) },
    ];
    t.data_location = 1;
    offset += t.raw_data.length;
    delete t.raw_data;
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const p of pieces) {
    data.set(p, at);
    at += p.length;
  }
  return { graph: encodeModel(model), data };
}
