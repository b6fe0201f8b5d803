/**
 * @module store/results
 * A stored explanation is one R2 object (one write per /v1/explain):
 *   t/<tenant>/results/<resultId>/result.bin
 * holding the four raw maps (float32 LE, H×W each, in RESULT_MAPS order), the two faces as
 * the model saw them (RGB bytes, H×W×3 each) and a JSON record, at offsets that follow from
 * H and the record's length (both in the object's custom metadata), then, for photo inputs,
 * each photo scaled down (RGB8; its size in the metadata as `photo_a` / `photo_b`), then, for
 * FGGB, the θ-free parts P and Q of each image (float32, in AFFINE_MAPS order; metadata
 * `affine: N`, the channel count). `.f32` and `.json`
 * are served as ranged reads of it; PNGs are rendered from it on first request and kept
 * beside it under `<image>/<kind>.<png|overlay.png>`. `r2ResultStore` is the adapter the
 * pipeline and the maps route use (shaped like the basis cache).
 */
import { MAP_SELECTORS as RESULT_MAPS, type MapSelector as ResultMap } from '../xfv/maps.js';
import { tenantPrefix } from './keys.js';

export { RESULT_MAPS, type ResultMap };
/** FGGB's θ-free parts (xfv/fggb AffineParts), per image, in stored order. */
export const AFFINE_MAPS = ['a.p', 'a.q', 'b.p', 'b.q'] as const;
export type AffineMap = (typeof AFFINE_MAPS)[number];
export const RESULT_LAYOUT = 'xfv-result/1';

export const resultKey = (tenant: string, resultId: string) => `${tenantPrefix(tenant)}results/${resultId}/result.bin`;
export const renderedKey = (tenant: string, resultId: string, path: string) => `${tenantPrefix(tenant)}results/${resultId}/${path}`;

export interface Slice {
  offset: number;
  length: number;
}

/** Width and height of a kept photo preview (RGB8, after the record). */
export type PhotoSizes = Partial<Record<'a' | 'b', [number, number]>>;

export interface ResultLayout {
  size: number;
  map(name: ResultMap): Slice;
  face(image: 'a' | 'b'): Slice;
  record: Slice;
  /** The photo an image came from (photo inputs only), scaled down, with its size. */
  photo(image: 'a' | 'b'): (Slice & { width: number; height: number }) | undefined;
  /** FGGB results: P or Q of an image (undefined for other methods). */
  affine(name: AffineMap): Slice | undefined;
  /** FGGB results: N, the channel count of S(θ) = P − (θ/N)·Q. */
  channels: number | undefined;
  byteLength: number;
}

export function resultLayout(size: number, recordLength: number, photos: PhotoSizes = {}, channels?: number): ResultLayout {
  const mapBytes = 4 * size * size;
  const faceBytes = 3 * size * size;
  const facesAt = RESULT_MAPS.length * mapBytes;
  const recordAt = facesAt + 2 * faceBytes;
  const photoBytes = (image: 'a' | 'b') => (photos[image] ? 3 * photos[image][0] * photos[image][1] : 0);
  const photosAt = recordAt + recordLength;
  const affineAt = photosAt + photoBytes('a') + photoBytes('b');
  return {
    size,
    map: (name) => ({ offset: RESULT_MAPS.indexOf(name) * mapBytes, length: mapBytes }),
    face: (image) => ({ offset: facesAt + (image === 'a' ? 0 : faceBytes), length: faceBytes }),
    record: { offset: recordAt, length: recordLength },
    photo: (image) => {
      const dims = photos[image];
      if (!dims) return undefined;
      return { offset: photosAt + (image === 'b' ? photoBytes('a') : 0), length: photoBytes(image), width: dims[0], height: dims[1] };
    },
    affine: (name) => (channels ? { offset: affineAt + AFFINE_MAPS.indexOf(name) * mapBytes, length: mapBytes } : undefined),
    channels,
    byteLength: affineAt + (channels ? AFFINE_MAPS.length * mapBytes : 0),
  };
}

const parseDims = (text: string | undefined): [number, number] | undefined => {
  const m = /^(\d{1,5})x(\d{1,5})$/.exec(text ?? '');
  return m && Number(m[1]) > 0 && Number(m[2]) > 0 ? [Number(m[1]), Number(m[2])] : undefined;
};

/** The layout of a stored result from its custom metadata, or undefined if it is not one. */
export function layoutOf(meta: Record<string, string> | undefined): ResultLayout | undefined {
  if (meta?.layout !== RESULT_LAYOUT) return undefined;
  const size = Number(meta.size);
  const record = Number(meta.record);
  if (!Number.isInteger(size) || size <= 0 || !Number.isInteger(record) || record <= 0) return undefined;
  const photos: PhotoSizes = {};
  for (const image of ['a', 'b'] as const) {
    const dims = parseDims(meta[`photo_${image}`]);
    if (dims) photos[image] = dims;
  }
  const channels = meta.affine === undefined ? undefined : Number(meta.affine);
  if (channels !== undefined && !(Number.isInteger(channels) && channels > 0)) return undefined;
  return resultLayout(size, record, photos, channels);
}

export interface ResultParts {
  size: number;
  maps: Record<ResultMap, Float32Array>;
  faces: { a: Uint8Array; b: Uint8Array };
  record: unknown;
  /** Photo inputs: the photo each image came from, scaled down (RGB8, HWC). */
  photos?: Partial<Record<'a' | 'b', { width: number; height: number; data: Uint8Array }>>;
  /** FGGB: P and Q of each image, and N. */
  affine?: { maps: Record<AffineMap, Float32Array>; channels: number } | undefined;
}

/** The object body (as parts, in order) and its custom metadata. */
export function encodeResult({ size, maps, faces, record, photos = {}, affine }: ResultParts): {
  parts: Uint8Array[];
  byteLength: number;
  customMetadata: Record<string, string>;
} {
  const json = new TextEncoder().encode(JSON.stringify(record));
  const dims: PhotoSizes = {};
  for (const image of ['a', 'b'] as const) if (photos[image]) dims[image] = [photos[image].width, photos[image].height];
  const layout = resultLayout(size, json.length, dims, affine?.channels);
  const parts: Uint8Array[] = [];
  const pushMap = (name: string, m: Float32Array) => {
    if (m.length !== size * size) throw new Error(`map ${name} has ${m.length} values, expected ${size * size}`);
    parts.push(new Uint8Array(m.buffer, m.byteOffset, m.byteLength));
  };
  for (const name of RESULT_MAPS) pushMap(name, maps[name]);
  for (const image of ['a', 'b'] as const) {
    if (faces[image].length !== layout.face(image).length)
      throw new Error(`face ${image} has ${faces[image].length} bytes, expected ${layout.face(image).length}`);
    parts.push(faces[image]);
  }
  parts.push(json);
  const meta: Record<string, string> = { layout: RESULT_LAYOUT, size: String(size), record: String(json.length) };
  for (const image of ['a', 'b'] as const) {
    const photo = photos[image];
    if (!photo) continue;
    if (photo.data.length !== 3 * photo.width * photo.height)
      throw new Error(`photo ${image} has ${photo.data.length} bytes, expected ${3 * photo.width * photo.height}`);
    parts.push(photo.data);
    meta[`photo_${image}`] = `${photo.width}x${photo.height}`;
  }
  if (affine) {
    for (const name of AFFINE_MAPS) pushMap(name, affine.maps[name]);
    meta.affine = String(affine.channels);
  }
  return { parts, byteLength: layout.byteLength, customMetadata: meta };
}

/** A stored body: its size, a stream of it, or its bytes. */
export interface StoredBody {
  size: number;
  body: ReadableStream;
  bytes(): Promise<Uint8Array>;
}

/** Stored explanations of one tenant, by result id. */
export interface ResultStore {
  put(resultId: string, parts: ResultParts): Promise<void>;
  /** The layout of a stored result, or undefined when there is none. */
  layout(resultId: string): Promise<ResultLayout | undefined>;
  /** A byte range of a stored result (it must exist). */
  read(resultId: string, slice: Slice): Promise<StoredBody>;
  /** A file rendered from a result and kept beside it (e.g. `a/similarity.png`). */
  rendered(resultId: string, path: string): Promise<StoredBody | undefined>;
  keepRendered(resultId: string, path: string, bytes: Uint8Array, contentType: string): Promise<void>;
}

/** A result that vanished between its layout and a read of it. */
export class ResultGoneError extends Error {
  constructor(resultId: string) {
    super(`result ${resultId} disappeared while reading`);
    this.name = 'ResultGoneError';
  }
}

const storedBody = (object: R2ObjectBody): StoredBody => ({
  size: object.size,
  body: object.body,
  bytes: async () => new Uint8Array(await object.arrayBuffer()),
});

export function r2ResultStore(bucket: R2Bucket, tenant: string): ResultStore {
  return {
    async put(resultId, parts) {
      const body = encodeResult(parts);
      await bucket.put(resultKey(tenant, resultId), new Blob(body.parts as BlobPart[]), {
        httpMetadata: { contentType: 'application/x-xfv-result' },
        customMetadata: body.customMetadata,
      });
    },
    async layout(resultId) {
      const stored = await bucket.head(resultKey(tenant, resultId));
      const layout = stored ? layoutOf(stored.customMetadata) : undefined;
      // An object whose length disagrees with its own layout is not trusted (absent: a new
      // explanation of the pair writes it again).
      return layout && layout.byteLength === stored?.size ? layout : undefined;
    },
    async read(resultId, slice) {
      const object = await bucket.get(resultKey(tenant, resultId), { range: slice });
      if (!object) throw new ResultGoneError(resultId);
      return storedBody(object);
    },
    async rendered(resultId, path) {
      const object = await bucket.get(renderedKey(tenant, resultId, path));
      return object ? storedBody(object) : undefined;
    },
    async keepRendered(resultId, path, bytes, contentType) {
      await bucket.put(renderedKey(tenant, resultId, path), bytes, { httpMetadata: { contentType } });
    },
  };
}
