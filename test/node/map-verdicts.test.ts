/**
 * What an answer says about its maps (engine/map-verdicts), and how the evidence it ships
 * is derived from the evaluations (eval/margins).
 */
import { describe, expect, it } from 'vitest';
import type { SummaryRow } from '../../eval/faithfulness.js';
import { faithfulnessEvidence } from '../../eval/margins.js';
import type { TransplantRow } from '../../eval/transplants.js';
import { readFaithfulness } from '../../models/build.js';
import { evaluatedName, mapVerdicts } from '../../src/engine/map-verdicts.js';
import { RATIOS } from '../../src/xfv/faithfulness.js';

const row = (method: string, kind: string, auc: number, meanCos: number): SummaryRow => ({
  method,
  kind,
  subset: 'focus',
  fill: 'gray',
  mode: 'deletion',
  n: 10,
  auc,
  accuracy: [],
  meanSimilarity: RATIOS.map(() => meanCos / 100),
});
const transplant = (method: string, kind: 'similarity' | 'dissimilarity', auc: number, before: number, mean: number): TransplantRow => ({
  method,
  kind,
  subset: 'all',
  cases: 4,
  auc,
  mass: 0.1,
  aucBefore: before,
  aucMeanOfOthers: mean,
  margin: auc - Math.max(before, mean),
  area: 0.07,
});

describe('map verdicts', () => {
  it('names served modes as the evaluation does', () => {
    expect(evaluatedName('fggb', true, true)).toBe('fggb-centred-smooth');
    expect(evaluatedName('fggb', false, false)).toBe('fggb');
    expect(evaluatedName('fggb', true, false)).toBe('fggb-centred');
    expect(evaluatedName('corrrise', true, true)).toBe('corrrise');
  });

  it('explains the pair only when it beats both pair-independent answers on Deletion and points at a planted cause', () => {
    const rows = [
      row('good', 'similarity', 20, 50),
      row('good~mean-of-others', 'similarity', 25, 50),
      row('good', 'dissimilarity', 0, 88),
      row('good~mean-of-others', 'dissimilarity', 0, 86),
      row('blob', 'similarity', 26, 50),
      row('blob~mean-of-others', 'similarity', 24, 50),
      row('blob', 'dissimilarity', 0, 86),
      row('blob~mean-of-others', 'dissimilarity', 0, 86),
      row('centre-prior', 'similarity', 30, 50),
      row('centre-prior', 'dissimilarity', 0, 87),
      row('random', 'similarity', 66, 50),
      row('random', 'dissimilarity', 0, 85),
    ];
    const transplants = [
      transplant('good', 'similarity', 0.85, 0.5, 0.6),
      transplant('good', 'dissimilarity', 0.75, 0.4, 0.4),
      transplant('blob', 'similarity', 0.9, 0.88, 0.89),
      transplant('blob', 'dissimilarity', 0.9, 0.5, 0.5),
      transplant('centre-prior', 'similarity', 0.85, 0.85, 0.85),
    ];
    const e = faithfulnessEvidence(rows, transplants);
    expect(Object.keys(e)).toEqual(['good', 'blob']);
    expect(e.good!.similarity.deletion.margin).toBe(5); // beats its mean map by 5, the prior by 10
    expect(e.good!.similarity.explainsPair).toBe(true);
    // Beats the others on Deletion (88 against 86 and 87), but a pointing AUC of 0.75 is short of 0.8.
    expect(e.good!.dissimilarity.deletion.margin).toBe(1);
    expect(e.good!.dissimilarity.explainsPair).toBe(false);
    // Points well, but no better than before the planting, and loses to its own mean map.
    expect(e.blob!.similarity.explainsPair).toBe(false);
    expect(e.blob!.dissimilarity.explainsPair).toBe(false);

    const verdicts = mapVerdicts({ source: 'test', methods: e }, { method: 'xssab', centre: true, smooth: false });
    expect(verdicts.similarity).toEqual({ verdict: 'not-measured', evidence: null, measuredOn: null });
  });

  it('labels the served modes from the evidence the model build ships', () => {
    const shipped = readFaithfulness();
    expect(shipped).toBeDefined();
    for (const [name, mode] of [
      ['fggb-centred-smooth', { method: 'fggb', centre: true, smooth: true }],
      ['corrrise', { method: 'corrrise', centre: true, smooth: false }],
    ] as const) {
      const v = mapVerdicts(shipped, mode);
      for (const kind of ['similarity', 'dissimilarity'] as const) {
        const e = shipped!.methods[name]![kind];
        expect(v[kind].evidence).toEqual(e);
        expect(v[kind].verdict).toBe(e.explainsPair ? 'explains-pair' : 'not-shown-to-explain-pair');
      }
    }
  });
});
