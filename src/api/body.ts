/**
 * @module api/body
 * Which of a route's two request media types a request uses, and a Server-Timing header
 * from a timing object.
 */
import type { Context } from 'hono';
import { ProblemError } from './problem.js';

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
