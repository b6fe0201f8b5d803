/**
 * The measures of whether a map points at a known region (src/xfv/pointing), on maps whose
 * answers are known by construction.
 */
import { describe, expect, it } from 'vitest';
import { chipTemplate } from '../../src/face/align.js';
import { centrePrior, chipRegions, massInside, meanOfOthers, pointingAuc, regionMask, transplant } from '../../src/xfv/pointing.js';

describe('pointing measures', () => {
  const size = 150;
  const regions = chipRegions(size);
  const nose = regions.find((r) => r.name === 'nose')!;
  const mask = regionMask(size, nose);

  it('places 40×40 regions on the template: each eye holds its two corners, the nose its bottom point', () => {
    expect(regions.map((r) => r.name)).toEqual(['right-eye', 'left-eye', 'nose', 'mouth']);
    expect(regions.every((r) => r.side === 40)).toBe(true);
    const t = chipTemplate(size, 0.25);
    const inside = (r: (typeof regions)[number], p: { x: number; y: number }) =>
      p.x >= r.x && p.x < r.x + r.side && p.y >= r.y && p.y < r.y + r.side;
    expect(inside(regions[0]!, t[0]!) && inside(regions[0]!, t[1]!)).toBe(true);
    expect(inside(regions[1]!, t[2]!) && inside(regions[1]!, t[3]!)).toBe(true);
    expect(inside(nose, t[4]!)).toBe(true);
    // The mouth sits below the nose, the regions do not overlap the eyes'.
    expect(regions[3]!.y).toBeGreaterThan(nose.y);
    expect(regions[3]!.y).toBeGreaterThanOrEqual(regions[0]!.y + 40);
  });

  it('pointing AUC: 1 for the region itself, 0 for its complement, ½ for a constant map', () => {
    const hit = Float32Array.from(mask);
    expect(pointingAuc(hit, mask)).toBe(1);
    expect(
      pointingAuc(
        Float32Array.from(mask, (m) => 1 - m),
        mask,
      ),
    ).toBe(0);
    expect(pointingAuc(new Float32Array(size * size).fill(3), mask)).toBe(0.5);
    // The Mann–Whitney statistic against a brute-force count on a small map.
    const small = Float32Array.from([0.1, 0.5, 0.5, 0.9, 0.2, 0.5]);
    const m = Uint8Array.from([1, 1, 0, 0, 0, 1]);
    let wins = 0;
    for (let i = 0; i < 6; i++)
      for (let j = 0; j < 6; j++) if (m[i] && !m[j]) wins += small[i]! > small[j]! ? 1 : small[i] === small[j] ? 0.5 : 0;
    expect(pointingAuc(small, m)).toBeCloseTo(wins / 9, 12);
  });

  it('mass inside: the share of non-negative mass; the centre prior holds more of it at the nose than at an eye', () => {
    expect(massInside(Float32Array.from(mask), mask)).toBe(1);
    expect(massInside(new Float32Array(size * size), mask)).toBe(0);
    const prior = centrePrior(size);
    expect(prior[75 * size + 75]).toBeCloseTo(1, 2);
    expect(massInside(prior, mask)).toBeGreaterThan(massInside(prior, regionMask(size, regions[0]!)));
  });

  it('mean of the others leaves one out and weighs every map alike', () => {
    const a = Float32Array.from([1, 0, 0, 0]);
    const b = Float32Array.from([0, 10, 0, 0]);
    const c = Float32Array.from([0, 0, 0, 4]);
    expect([...meanOfOthers([a, b, c], 0)]).toEqual([0, 0.5, 0, 0.5]);
    expect([...meanOfOthers([a, b, c], 2)]).toEqual([0.5, 0.5, 0, 0]);
  });

  it('transplants a region in every channel and nothing else', () => {
    const pixels = size * size;
    const target = new Float32Array(3 * pixels).fill(1);
    const source = new Float32Array(3 * pixels).fill(7);
    const out = transplant(target, source, mask);
    for (let c = 0; c < 3; c++) {
      const plane = out.subarray(c * pixels, (c + 1) * pixels);
      expect(plane.filter((v) => v === 7)).toHaveLength(40 * 40);
      expect(plane[nose.y * size + nose.x]).toBe(7);
      expect(plane[0]).toBe(1);
    }
    expect(target[nose.y * size + nose.x]).toBe(1);
  });
});
