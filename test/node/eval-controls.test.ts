/**
 * The measures that tell whether a map explains its pair (issue "Explanations that explain
 * this pair"), end to end on small seeded subsets: the faithfulness controls (the mean of a
 * method's maps over the other pairs, a counterfactual reference) and the region
 * transplants with their pointing scores.
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { markdownBaselines, markdownSummary, runEvaluation } from '../../eval/faithfulness.js';
import { BBT_PAIRS, PHOTOS_DIR } from '../../eval/lib/faces.js';
import { markdownTransplants, runTransplants } from '../../eval/transplants.js';
import { describeWithFaces } from './helpers.js';

describeWithFaces('measures that can tell', () => {
  it('judges each method beside its controls: the mean of its other maps and another reference', async () => {
    const out = mkdtempSync(join(tmpdir(), 'xfv-controls-'));
    const opts = {
      pairsFile: BBT_PAIRS,
      methods: ['fggb', 'centre-prior'] as ('fggb' | 'centre-prior')[],
      out,
      genuine: 1,
      impostor: 2,
      seed: 5,
      runtime: 'node' as const,
      progress: false,
      controls: true,
    };
    const summary = await runEvaluation(opts);
    const log = join(out, 'runs', readdirSync(join(out, 'runs')).find((f) => f.endsWith('.jsonl'))!);
    const records = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { method: string; same: boolean; curves: Record<string, number[]>; baseline: number });
    const count = (m: string) => records.filter((r) => r.method === m).length;
    expect(count('fggb')).toBe(6); // 3 pairs × 2 directions
    expect(count('centre-prior')).toBe(6);
    expect(count('fggb~mean-of-others')).toBe(6);
    // Another reference needs another pair with the same label: the two impostor pairs have one each.
    expect(count('fggb~other-reference')).toBe(4);
    expect(records.filter((r) => r.method === 'fggb~other-reference').every((r) => !r.same)).toBe(true);
    // A pair-independent map gets no controls; the controls keep the probe's own reference.
    expect(count('centre-prior~mean-of-others')).toBe(0);
    for (const r of records) expect(r.curves['similarity/gray/deletion']![0]).toBeCloseTo(r.baseline, 6);
    expect(markdownSummary(summary)).toMatch(/\| fggb~mean-of-others \| similarity \| all pairs \| 6 \|/);
    // How alike each probe's map is to its method's mean map over the other pairs.
    const r = summary.pairSpecificity.find((p) => p.method === 'fggb' && p.kind === 'similarity')!;
    expect(r.n).toBe(6);
    expect(r.pearsonToMean).toBeGreaterThan(-1);
    expect(r.pearsonToMean).toBeLessThan(1);
    expect(summary.pairSpecificity.some((p) => p.method === 'centre-prior')).toBe(false);
    expect(markdownBaselines(summary)).toMatch(/\| fggb \| similarity \| accepted genuine/);

    const again = await runEvaluation(opts);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(records.length);
    expect(again.rows).toEqual(summary.rows);
  });

  it('transplants a region and scores each map against the pair-independent answers', async () => {
    const summary = await runTransplants({
      pairsFile: join(PHOTOS_DIR, 'pairs.tsv'),
      methods: ['xssab', 'random', 'centre-prior'],
      out: mkdtempSync(join(tmpdir(), 'xfv-transplants-')),
      genuine: 2,
      impostor: 2,
      seed: 1,
      runtime: 'node',
      regions: ['nose'],
    });
    expect(summary.cases).toHaveLength(4);
    expect(summary.cases.filter((c) => c.kind === 'similarity')).toHaveLength(2);
    for (const c of summary.cases) {
      expect(c.region).toBe('nose');
      expect(c.cosineAfter).not.toBe(c.cosineBefore);
    }
    const row = (m: string, k: string, subset = 'all') => summary.rows.find((r) => r.method === m && r.kind === k && r.subset === subset)!;
    // Known by construction: the nose is central, so the centre prior points at it; random does not.
    expect(row('centre-prior', 'similarity').auc).toBeGreaterThan(0.85);
    expect(Math.abs(row('random', 'similarity').auc - 0.5)).toBeLessThan(0.05);
    expect(row('random', 'similarity').margin).toBeNaN();
    // A pair-specific method is compared with its own map before the transplant and its mean map.
    const x = row('xssab', 'dissimilarity');
    expect(x.cases).toBe(2);
    expect(x.margin).toBeCloseTo(x.auc - Math.max(x.aucBefore, x.aucMeanOfOthers), 12);
    // The halves (pairs on even and odd lines of the pairs file) split the cases.
    const halves = ['even', 'odd'].map((h) => row('xssab', 'dissimilarity', h)?.cases ?? 0);
    expect(halves[0]! + halves[1]!).toBe(2);
    expect(markdownTransplants(summary)).toMatch(/\| xssab \| similarity \| all \| 2 \|/);
  });
});
