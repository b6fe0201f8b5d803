/**
 * @module accounts/signed-urls
 * Map links that work in an `<img>` tag without a bearer key: the link carries its tenant,
 * an expiry (unix seconds) and an HMAC-SHA256 over tenant, path and expiry with the
 * deployment's URL_SIGNING_SECRET. Changing any of them, or using the link after its
 * expiry, makes it invalid.
 */
const enc = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    keys.set(secret, key);
  }
  return key;
}

const message = (tenant: string, path: string, expires: number) => enc.encode(`${tenant}\n${path}\n${expires}`);

const base64url = (bytes: ArrayBuffer) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

function fromBase64url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]{43}$/.test(text)) return undefined;
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
}

/** `url` (absolute) with `tenant`, `expires` and `signature` query parameters added. */
export async function signUrl(secret: string, url: URL, tenant: string, expires: number): Promise<string> {
  const signature = await crypto.subtle.sign('HMAC', await hmacKey(secret), message(tenant, url.pathname, expires));
  const signed = new URL(url);
  signed.search = new URLSearchParams({ tenant, expires: String(expires), signature: base64url(signature) }).toString();
  return signed.href;
}

export type SignatureCheck = { ok: true; tenant: string } | { ok: false; reason: string };

/** Whether `url`'s signature parameters are valid for its path at `nowSeconds`. */
export async function checkSignedUrl(secret: string, url: URL, nowSeconds: number): Promise<SignatureCheck> {
  const tenant = url.searchParams.get('tenant') ?? '';
  const expires = Number(url.searchParams.get('expires'));
  const signature = fromBase64url(url.searchParams.get('signature') ?? '');
  if (!tenant || !Number.isInteger(expires) || !signature) return { ok: false, reason: 'the link lacks tenant, expires or signature' };
  // crypto.subtle.verify compares in constant time.
  const valid = await crypto.subtle.verify('HMAC', await hmacKey(secret), signature, message(tenant, url.pathname, expires));
  if (!valid) return { ok: false, reason: 'the link signature is invalid' };
  if (expires <= nowSeconds) return { ok: false, reason: 'the link has expired' };
  return { ok: true, tenant };
}
