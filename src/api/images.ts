/**
 * @module api/images
 * Turn request images (uploaded Files or base64 strings) into model inputs: size caps
 * before decoding, decode, preprocess; image errors become problem responses.
 */
import { ImageError, decodeImage, toModelInput, type ModelInputSpec } from '../image/index.js';
import { ProblemError } from './problem.js';

export interface ImageLimits {
  maxImageBytes: number;
  maxPixels: number;
}

export const DEFAULT_LIMITS: ImageLimits = { maxImageBytes: 8 * 1024 * 1024, maxPixels: 6_000_000 };

/** Bytes of one image field, refusing oversized ones before reading or decoding. */
export async function imageBytes(field: string, value: File | { base64: string }, limits: ImageLimits): Promise<Uint8Array> {
  const declared = value instanceof File ? value.size : Math.floor((value.base64.length * 3) / 4);
  if (declared > limits.maxImageBytes) {
    throw new ProblemError('payload-too-large', `image ${field} is ${declared} bytes; the limit is ${limits.maxImageBytes} bytes`);
  }
  if (value instanceof File) return new Uint8Array(await value.arrayBuffer());
  const binary = atob(value.base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const STATUS_OF: Record<ImageError['kind'], 'unsupported-media-type' | 'payload-too-large' | 'undecodable-image'> = {
  unsupported: 'unsupported-media-type',
  'too-large': 'payload-too-large',
  'too-small': 'undecodable-image',
  undecodable: 'undecodable-image',
};

export interface PreparedImage {
  input: Float32Array;
  width: number;
  height: number;
  decodeMs: number;
  preprocessMs: number;
}

/** Decode and preprocess one image for the model. */
export function prepareImage(field: string, bytes: Uint8Array, spec: ModelInputSpec, limits: ImageLimits): PreparedImage {
  if (bytes.length === 0) throw new ProblemError('undecodable-image', `image ${field} is empty`, { field });
  const t0 = performance.now();
  let img;
  try {
    img = decodeImage(bytes, { maxPixels: limits.maxPixels });
  } catch (e) {
    if (e instanceof ImageError) throw new ProblemError(STATUS_OF[e.kind], `image ${field}: ${e.message}`, { field });
    throw e;
  }
  const t1 = performance.now();
  const input = toModelInput(img, spec);
  return { input, width: img.width, height: img.height, decodeMs: t1 - t0, preprocessMs: performance.now() - t1 };
}
