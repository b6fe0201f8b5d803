/**
 * @module api/encoding
 * Small byte encodings the API needs: base64 (for data: URIs) and hex SHA-256 content
 * addresses.
 */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export async function sha256OfFloats(x: Float32Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new Uint8Array(x.buffer as ArrayBuffer, x.byteOffset, x.byteLength));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export async function sha256OfText(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
