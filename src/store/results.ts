/**
 * @module store/results
 * A stored explanation is one R2 object (one write per /v1/explain):
 *   t/<tenant>/results/<resultId>/result.bin
 * holding the four raw maps (float32 LE, H×W each, in RESULT_MAPS order), the two faces as
 * the model saw them (RGB bytes, H×W×3 each) and a JSON record, at offsets that follow from
 * H and the record's length (both in the object's custom metadata). `.f32` and `.json`
 * are served as ranged reads of it; PNGs are rendered from it on first request and kept
 * beside it under `<image>/<kind>.<png|overlay.png>`.
 */
import { tenantPrefix } from './keys.js';

export const RESULT_LAYOUT = 'xfv-result/1';
export const RESULT_MAPS = ['a.similarity', 'a.dissimilarity', 'b.similarity', 'b.dissimilarity'] as const;
export type ResultMap = (typeof RESULT_MAPS)[number];

export const resultKey = (tenant: string, resultId: string) => `${tenantPrefix(tenant)}results/${resultId}/result.bin`;
export const renderedKey = (tenant: string, resultId: string, path: string) => `${tenantPrefix(tenant)}results/${resultId}/${path}`;

export interface Slice {
  offset: number;
  length: number;
}

export interface ResultLayout {
  size: number;
  map(name: ResultMap): Slice;
  face(image: 'a' | 'b'): Slice;
  record: Slice;
  byteLength: number;
}

export function resultLayout(size: number, recordLength: number): ResultLayout {
  const mapBytes = 4 * size * size;
  const faceBytes = 3 * size * size;
  const facesAt = RESULT_MAPS.length * mapBytes;
  const recordAt = facesAt + 2 * faceBytes;
  return {
    size,
    map: (name) => ({ offset: RESULT_MAPS.indexOf(name) * mapBytes, length: mapBytes }),
    face: (image) => ({ offset: facesAt + (image === 'a' ? 0 : faceBytes), length: faceBytes }),
    record: { offset: recordAt, length: recordLength },
    byteLength: recordAt + recordLength,
  };
}

/** The layout of a stored result from its custom metadata, or undefined if it is not one. */
export function layoutOf(meta: Record<string, string> | undefined): ResultLayout | undefined {
  if (meta?.layout !== RESULT_LAYOUT) return undefined;
  const size = Number(meta.size);
  const record = Number(meta.record);
  if (!Number.isInteger(size) || size <= 0 || !Number.isInteger(record) || record <= 0) return undefined;
  return resultLayout(size, record);
}

export interface ResultParts {
  size: number;
  maps: Record<ResultMap, Float32Array>;
  faces: { a: Uint8Array; b: Uint8Array };
  record: unknown;
}

/** The object body (as parts, in order) and its custom metadata. */
export function encodeResult({ size, maps, faces, record }: ResultParts): { parts: Uint8Array[]; byteLength: number; customMetadata: Record<string, string> } {
  const json = new TextEncoder().encode(JSON.stringify(record));
  const layout = resultLayout(size, json.length);
  const parts: Uint8Array[] = [];
  for (const name of RESULT_MAPS) {
    const m = maps[name];
    if (m.length !== size * size) throw new Error(`map ${name} has ${m.length} values, expected ${size * size}`);
    parts.push(new Uint8Array(m.buffer, m.byteOffset, m.byteLength));
  }
  for (const image of ['a', 'b'] as const) {
    if (faces[image].length !== layout.face(image).length) throw new Error(`face ${image} has ${faces[image].length} bytes, expected ${layout.face(image).length}`);
    parts.push(faces[image]);
  }
  parts.push(json);
  return { parts, byteLength: layout.byteLength, customMetadata: { layout: RESULT_LAYOUT, size: String(size), record: String(json.length) } };
}
