/**
 * @module api/request-body
 * Which of a route's two request media types a request uses, multipart bodies parsed once
 * without a second copy, and a Server-Timing header from a timing object.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ProblemError } from '../problems/problem.js';

/** `json` or `form` by Content-Type; anything else is a 415 problem. */
export function bodyMediaType(c: Context): 'json' | 'form' {
  const type = c.req.header('content-type') ?? '';
  if (/^application\/json/i.test(type)) return 'json';
  if (/^multipart\/form-data/i.test(type)) return 'form';
  throw new ProblemError(
    'unsupported-media-type',
    'send the images as multipart/form-data (fields a, b) or application/json ({"a":{"base64":…},"b":…})',
  );
}

/** A Server-Timing header value from a `{ fooMs: n }` timing object (`foo;dur=n`). */
export function serverTiming(timing: Record<string, number>): string {
  return Object.entries(timing)
    .map(([name, ms]) => `${name.replace(/Ms$/, '')};dur=${ms.toFixed(1)}`)
    .join(', ');
}

/** Add `name;dur=ms` to a response's Server-Timing header. */
export function appendServerTiming(res: Response, name: string, ms: number): void {
  const entry = `${name};dur=${ms.toFixed(1)}`;
  const current = res.headers.get('Server-Timing');
  try {
    res.headers.set('Server-Timing', current ? `${current}, ${entry}` : entry);
  } catch {
    /* immutable headers (a response passed through): no timing */
  }
}

/**
 * The request's multipart form, parsed once with the runtime's own parser and kept where
 * the route's validator looks for it. Hono's form validator would read the body into one
 * ArrayBuffer and parse a copy of it, keeping both for the request's life: two copies of a
 * 25 MB photo.
 */
export function formDataOnce(c: Context): Promise<FormData> {
  const cache = c.req.bodyCache as { formData?: Promise<FormData> };
  if (!cache.formData) {
    const parsed = c.req.raw.formData().catch((e: unknown) => {
      throw new HTTPException(400, { message: `Malformed FormData request. ${e instanceof Error ? e.message : String(e)}` });
    });
    parsed.catch(() => {}); // awaited (and reported) by the validator
    // Hono keeps the promise here and awaits it (its type says the value).
    cache.formData = parsed;
  }
  return cache.formData;
}
