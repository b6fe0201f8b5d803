/**
 * @module jobs/fetch-image
 * Fetch an image a job names by URL, guarded: every URL, the first and each redirect target
 * (at most 3), passes jobs/guarded-url before it is fetched; the declared length and then
 * the bytes read are capped; the whole fetch has a time limit. Failures are ImageFetchErrors
 * with a reason fit for the job's problem.
 */
import { checkOutboundUrl } from './guarded-url.js';

export const MAX_REDIRECTS = 3;
export const FETCH_TIMEOUT_MS = 10_000;

export class ImageFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageFetchError';
  }
}

export interface FetchLimits {
  maxBytes: number;
  timeoutMs?: number;
  allowLoopbackHttp?: boolean;
}

export async function fetchImage(url: string, limits: FetchLimits, fetcher: typeof fetch = fetch): Promise<Uint8Array> {
  const signal = AbortSignal.timeout(limits.timeoutMs ?? FETCH_TIMEOUT_MS);
  let current = url;
  for (let hop = 0; ; hop++) {
    const check = checkOutboundUrl(current, { allowLoopbackHttp: limits.allowLoopbackHttp });
    if (!check.ok) throw new ImageFetchError(`${current} refused: ${check.reason}`);
    let res: Response;
    try {
      res = await fetcher(check.url.href, { redirect: 'manual', signal, headers: { accept: 'image/png, image/jpeg' } });
    } catch (e) {
      const timeout = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
      throw new ImageFetchError(
        timeout ? `${current}: no answer within ${(limits.timeoutMs ?? FETCH_TIMEOUT_MS) / 1000} s` : `${current}: ${String(e)}`,
      );
    }
    if (res.status >= 300 && res.status < 400 && res.headers.has('location')) {
      await res.body?.cancel();
      if (hop >= MAX_REDIRECTS) throw new ImageFetchError(`${url}: more than ${MAX_REDIRECTS} redirects`);
      current = new URL(res.headers.get('location')!, check.url).href;
      continue;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new ImageFetchError(`${current} answered ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? Number.NaN);
    if (declared > limits.maxBytes) {
      await res.body?.cancel();
      throw new ImageFetchError(`${current} is ${declared} bytes; the limit is ${limits.maxBytes}`);
    }
    return readCapped(res, limits.maxBytes, current);
  }
}

async function readCapped(res: Response, maxBytes: number, url: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw new ImageFetchError(`${url} is over the ${maxBytes}-byte limit`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes;
}
