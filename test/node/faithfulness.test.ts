/**
 * The faithfulness metric on synthetic cases with known answers: a toy "model" that only
 * looks at a few pixels; the map marking exactly those pixels must beat a random map and
 * an inverted map must be worst; the AUC of a constant curve is that constant.
 */
import { describe, expect, it } from 'vitest';
import { RATIOS, curveAuc, fillValues, perturb, rankPixels } from '../../src/xfv/faithfulness.js';
import { randomMap } from '../../src/xfv/baselines.js';

const H = 10;
const P = H * H;
// The toy verifier accepts while at least 60 % of its key pixels keep their value 1.
const KEY = Array.from({ length: 20 }, (_, i) => i * 5);
const accepts = (x: Float32Array) => KEY.filter((p) => x[p] === 1).length >= 12;

function deletionAuc(map: Float32Array): number {
  const x = new Float32Array(P).fill(1);
  const order = rankPixels(map, 7);
  return curveAuc(RATIOS.map((r) => (accepts(perturb(x, 1, order, r, [0], 'deletion')) ? 1 : 0)));
}
function insertionAuc(map: Float32Array): number {
  const x = new Float32Array(P).fill(1);
  const order = rankPixels(map, 7);
  return curveAuc(RATIOS.map((r) => (accepts(perturb(x, 1, order, r, [0], 'insertion')) ? 1 : 0)));
}

describe('Deletion / Insertion', () => {
  const perfect = new Float32Array(P);
  KEY.forEach((p) => (perfect[p] = 1));
  const inverted = perfect.map((v) => 1 - v);
  const random = randomMap(P, 3);

  it('the map of the pixels the model uses scores best, random in between, inverted worst', () => {
    expect(deletionAuc(perfect)).toBeLessThan(deletionAuc(random));
    expect(deletionAuc(random)).toBeLessThanOrEqual(deletionAuc(inverted));
    expect(insertionAuc(perfect)).toBeGreaterThan(insertionAuc(random));
    expect(insertionAuc(random)).toBeGreaterThanOrEqual(insertionAuc(inverted));
    expect(deletionAuc(perfect)).toBe(5); // accepted only at 0 % deleted: half a step of area
  });

  it('AUC of a constant accuracy curve is that constant; trapezoid in %', () => {
    expect(curveAuc(RATIOS.map(() => 0.8))).toBeCloseTo(80, 10);
    expect(curveAuc(RATIOS.map((r) => r))).toBeCloseTo(50, 10);
    expect(() => curveAuc([1, 2])).toThrow(/expected 11/);
  });

  it('ties are broken by a fixed seeded order; perturbation touches exactly the ranked pixels', () => {
    const flat = new Float32Array(P);
    expect(rankPixels(flat, 1)).toEqual(rankPixels(flat, 1));
    expect(rankPixels(flat, 1)).not.toEqual(rankPixels(flat, 2));
    const x = Float32Array.from({ length: 2 * P }, (_, i) => i);
    const order = rankPixels(perfect, 1);
    const del = perturb(x, 2, order, 0.2, [-1, -2], 'deletion');
    expect(del.filter((v) => v === -1).length).toBe(20);
    expect(del.filter((v) => v === -2).length).toBe(20);
    const ins = perturb(x, 2, order, 0, [-1, -2], 'insertion');
    expect(new Set(ins)).toEqual(new Set([-1, -2]));
    expect(perturb(x, 2, order, 1, [0, 0], 'insertion')).toEqual(x);
    expect(fillValues('gray', [120, 110, 100], 1 / 255)).toEqual([0, 0, 0]);
    expect(fillValues('black', [127.5, 0, 255], 1 / 255)).toEqual([-0.5, 0, -1]);
  });
});
