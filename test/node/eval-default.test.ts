/**
 * The served default's rule (eval/default): eligibility on both similarity targets, the
 * most targets met, ties to the cheaper new pair, and a check on the other half that keeps
 * the old default when the pick does not hold up.
 */
import { describe, expect, it } from 'vitest';
import { chooseDefault, measure } from '../../eval/default.js';
import { RATIOS } from '../../src/xfv/faithfulness.js';
import type { SummaryRow } from '../../eval/faithfulness.js';
import type { TransplantRow } from '../../eval/transplants.js';

const deletion = (method: string, kind: string, subset: string, auc: number, meanCos = 0.5): SummaryRow =>
  ({
    method,
    kind,
    subset,
    fill: 'gray',
    mode: 'deletion',
    n: 8,
    auc,
    accuracy: [],
    meanSimilarity: RATIOS.map(() => meanCos),
  }) as unknown as SummaryRow;
const pointing = (
  method: string,
  kind: 'similarity' | 'dissimilarity',
  subset: 'even' | 'odd',
  auc: number,
  margin: number,
): TransplantRow => ({
  method,
  kind,
  subset,
  cases: 8,
  auc,
  mass: 0.1,
  aucBefore: auc - margin,
  aucMeanOfOthers: auc - margin,
  margin,
  area: 0.07,
});

/** A method's rows on both halves: similarity Deletion, its mean-of-others, and transplant AUCs. */
function method(name: string, sim: number, others: number, simAuc: [number, number], disAuc: [number, number], odd = { sim, simAuc }) {
  const rows: SummaryRow[] = [];
  const t: TransplantRow[] = [];
  for (const [half, subset] of [
    ['even', 'focus-even'],
    ['odd', 'focus-odd'],
  ] as const) {
    const s = half === 'even' ? sim : odd.sim;
    const a = half === 'even' ? simAuc : odd.simAuc;
    rows.push(deletion(name, 'similarity', subset, s), deletion(`${name}~mean-of-others`, 'similarity', subset, others));
    rows.push(deletion(name, 'dissimilarity', subset, 0, 0.86));
    t.push(pointing(name, 'similarity', half, a[0], a[1]), pointing(name, 'dissimilarity', half, disAuc[0], disAuc[1]));
  }
  return { rows, t };
}

const shared = ['focus-even', 'focus-odd'].flatMap((subset) => [
  deletion('centre-prior', 'similarity', subset, 30),
  deletion('random', 'dissimilarity', subset, 0, 0.85),
]);

function decide(...methods: ReturnType<typeof method>[]) {
  const rows = [...shared, ...methods.flatMap((m) => m.rows)];
  const t = methods.flatMap((m) => m.t);
  const names = ['fggb', 'fggb-centred-smooth', 'xssab', 'corrrise', 'corrrise-128'] as const;
  const measured = Object.fromEntries(
    names.flatMap((n) => {
      const [even, odd] = [measure(rows, t, n, 'even'), measure(rows, t, n, 'odd')];
      return even && odd ? [[n, { even, odd }]] : [];
    }),
  );
  return chooseDefault(measured);
}

describe('eval:default rule', () => {
  it('needs both similarity targets, then prefers the cheaper of equals', () => {
    const d = decide(
      method('fggb-centred-smooth', 25, 24, [0.67, 0.02], [0.53, 0.03]), // loses to its own mean map
      method('corrrise', 21, 27, [0.85, 0.3], [0.73, 0.2]),
      method('corrrise-128', 22, 27, [0.83, 0.25], [0.72, 0.2]),
    );
    expect(d.eligible).toEqual(['corrrise', 'corrrise-128']);
    expect([d.picked, d.chosen]).toEqual(['corrrise-128', 'corrrise-128']);
  });

  it('prefers a method that meets more targets over a cheaper one', () => {
    const d = decide(method('corrrise', 21, 27, [0.85, 0.3], [0.82, 0.2]), method('corrrise-128', 22, 27, [0.83, 0.25], [0.72, 0.2]));
    expect(d.chosen).toBe('corrrise');
  });

  it('keeps the current default when the pick fails the held-out half, or nothing is eligible', () => {
    const failing = decide(method('corrrise-128', 22, 27, [0.83, 0.25], [0.72, 0.2], { sim: 22, simAuc: [0.75, 0.25] }));
    expect([failing.picked, failing.failedCheck, failing.chosen]).toEqual([
      'corrrise-128',
      ['similarity transplants'],
      'fggb-centred-smooth',
    ]);
    const none = decide(method('xssab', 26, 24, [0.72, -0.08], [0.72, -0.09]));
    expect([none.picked, none.chosen]).toEqual([undefined, 'fggb-centred-smooth']);
  });
});
