/**
 * @module api/request-images
 * Request images (uploaded Files or base64 strings) to image sources, refusing oversized
 * ones before reading them. Files are passed on unread: the engine reads a File's head, and
 * the rest only if it decodes it here.
 */
import type { ImageLimits, ImageSource } from '../engine/image-decode.js';
import { ProblemError } from '../problems/problem.js';

export type ImageField = File | { base64: string };

/** One image field as an image source, refusing oversized ones before reading or decoding. */
export function imageSource(field: string, value: ImageField, limits: ImageLimits): ImageSource {
  const declared = value instanceof File ? value.size : Math.floor((value.base64.length * 3) / 4);
  if (declared > limits.maxImageBytes) {
    throw new ProblemError('payload-too-large', `image ${field} is ${declared} bytes; the limit is ${limits.maxImageBytes} bytes`);
  }
  if (value instanceof File) return value;
  const binary = atob(value.base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Both images of a request, in order. */
export function pairSources(body: { a: ImageField; b: ImageField }, limits: ImageLimits): { a: ImageSource; b: ImageSource } {
  return { a: imageSource('a', body.a, limits), b: imageSource('b', body.b, limits) };
}
