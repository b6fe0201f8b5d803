/**
 * @module api/encoding
 * Small byte encodings the API needs: base64 (for data: URIs) and hex SHA-256 content
 * addresses.
 */
import { sha256Hex } from '../store/models.js';

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export const sha256OfFloats = (x: Float32Array) => sha256Hex(new Uint8Array(x.buffer as ArrayBuffer, x.byteOffset, x.byteLength));

export const sha256OfText = (text: string) => sha256Hex(new TextEncoder().encode(text));
