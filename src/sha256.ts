/**
 * @module sha256
 * SHA-256 as lowercase hex, of text (UTF-8) or bytes: key hashes, idempotency fingerprints,
 * model file checks and content addresses all use this one.
 */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
