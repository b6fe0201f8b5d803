/**
 * @module api/byte-ranges
 * HTTP byte ranges (RFC 9110 §14) for bodies whose length is known before reading: a
 * single `bytes=a-b`, `bytes=a-` or `bytes=-n` range; anything else (several ranges, other
 * units, syntax we do not parse) is ignored and the whole body served, as the RFC allows.
 * An unsatisfiable range is a 416 problem. Also strong-ETag matching for If-None-Match.
 */
import { ProblemError } from '../problems/problem.js';
import type { Slice } from '../store/results.js';

const unsatisfiable = (detail: string, size: number) =>
  new ProblemError('range-not-satisfiable', detail, { size }, { 'Content-Range': `bytes */${size}` });

/** The requested slice of a body of `size` bytes, or undefined to serve it whole. */
export function requestedRange(header: string | undefined | null, size: number): Slice | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw unsatisfiable(`range ${header} asks for no bytes`, size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size) throw unsatisfiable(`range ${header} starts beyond the ${size}-byte body`, size);
  return { offset: start, length: end - start + 1 };
}

/** True when If-None-Match lists `etag` (or is `*`); weak comparison, as RFC 9110 asks. */
export function etagMatches(ifNoneMatch: string | undefined | null, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((t) => t.trim() === '*' || bare(t) === bare(etag));
}
