/**
 * HTTP byte ranges and If-None-Match for map downloads (src/api/byte-ranges.ts).
 */
import { describe, expect, it } from 'vitest';
import { etagMatches, requestedRange } from '../../src/api/byte-ranges.js';
import { ProblemError } from '../../src/problems/problem.js';

describe('requestedRange', () => {
  it('parses single ranges and clamps their end', () => {
    expect(requestedRange('bytes=0-9', 100)).toEqual({ offset: 0, length: 10 });
    expect(requestedRange('bytes=90-', 100)).toEqual({ offset: 90, length: 10 });
    expect(requestedRange('bytes=90-500', 100)).toEqual({ offset: 90, length: 10 });
    expect(requestedRange('bytes=-30', 100)).toEqual({ offset: 70, length: 30 });
    expect(requestedRange('bytes=-300', 100)).toEqual({ offset: 0, length: 100 });
  });

  it('ignores what it does not serve: no header, several ranges, other units, reversed', () => {
    for (const h of [undefined, null, '', 'bytes=0-1,5-6', 'items=0-1', 'bytes=9-2', 'bytes=-', 'bytes=a-b'])
      expect(requestedRange(h, 100)).toBeUndefined();
  });

  it('refuses unsatisfiable ranges with a 416 problem naming the size', () => {
    for (const h of ['bytes=100-', 'bytes=200-300', 'bytes=-0']) {
      try {
        requestedRange(h, 100);
        expect.unreachable(h);
      } catch (e) {
        expect(e).toBeInstanceOf(ProblemError);
        expect((e as ProblemError).kind).toBe('range-not-satisfiable');
        expect((e as ProblemError).headers).toEqual({ 'Content-Range': 'bytes */100' });
      }
    }
  });
});

describe('etagMatches', () => {
  it('matches listed, weak and wildcard tags only', () => {
    expect(etagMatches('"x"', '"x"')).toBe(true);
    expect(etagMatches('"a", W/"x"', '"x"')).toBe(true);
    expect(etagMatches('*', '"x"')).toBe(true);
    expect(etagMatches('"y"', '"x"')).toBe(false);
    expect(etagMatches(undefined, '"x"')).toBe(false);
  });
});
