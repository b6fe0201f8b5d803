/**
 * releaseBuffer in workerd: the runtime has ArrayBuffer.prototype.transfer, so a released
 * buffer is detached at once (its memory is not left for the next GC); releasing twice or
 * through another view is harmless.
 */
import { describe, expect, it } from 'vitest';
import { releaseBuffer } from '../../src/release.js';

describe('releaseBuffer', () => {
  it('detaches the buffer behind a view', () => {
    const bytes = new Uint8Array(1 << 20).fill(7);
    const other = new Float32Array(bytes.buffer, 4, 8);
    releaseBuffer(other);
    expect((bytes.buffer as ArrayBuffer & { detached: boolean }).detached).toBe(true);
    expect(bytes.byteLength).toBe(0);
    expect(() => releaseBuffer(bytes)).not.toThrow();
  });
});
