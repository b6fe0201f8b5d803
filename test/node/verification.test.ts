/** Verification maths on cases whose answer is known by hand. */
import { describe, expect, it } from 'vitest';
import { accuracyAt, cosine, eerThreshold, rocAuc, unitEmbedding } from '../../src/xfv/verification.js';

describe('verification maths', () => {
  it('cosine, plain and centred', () => {
    expect(cosine([1, 0], [0, 1])).toBeCloseTo(0, 12);
    expect(cosine([2, 2], [1, 1])).toBeCloseTo(1, 6); // the 1e-8 in the norm
    expect(cosine([2, 1], [0, 1], [1, 1])).toBeCloseTo(-1, 6);
    expect(cosine([2, 1], [1, 2], [1, 1])).toBeCloseTo(0, 12);
    expect(Math.hypot(...unitEmbedding([3, 4]))).toBeCloseTo(1, 8);
  });

  it('ROC AUC: separable = 1, reversed = 0, ties count half', () => {
    const sep = [0.9, 0.8].map((score) => ({ score, same: true })).concat([0.1, 0.2].map((score) => ({ score, same: false })));
    expect(rocAuc(sep)).toBe(1);
    expect(rocAuc(sep.map((p) => ({ ...p, same: !p.same })))).toBe(0);
    expect(
      rocAuc([
        { score: 0.5, same: true },
        { score: 0.5, same: false },
      ]),
    ).toBe(0.5);
  });

  it('EER threshold separates separable scores with zero error', () => {
    const pairs = [0.9, 0.85, 0.7].map((score) => ({ score, same: true })).concat([0.1, 0.3, 0.6].map((score) => ({ score, same: false })));
    const r = eerThreshold(pairs);
    expect(r.eer).toBe(0);
    expect(r.threshold).toBeGreaterThan(0.6);
    expect(r.threshold).toBeLessThan(0.7);
    expect(accuracyAt(pairs, r.threshold)).toBe(1);
  });

  it('EER with overlap: one error on each side', () => {
    const pairs = [0.9, 0.4].map((score) => ({ score, same: true })).concat([0.5, 0.1].map((score) => ({ score, same: false })));
    const r = eerThreshold(pairs);
    expect(r.eer).toBeCloseTo(0.5, 12);
    expect(r.far).toBe(r.frr);
  });
});
