/**
 * The faithfulness harness end to end on a small seeded subset (what CI runs): results per
 * probe are appended as they come, a second run resumes without recomputing, and the
 * summary has an AUC per method × map × fill × mode.
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { markdownSummary, runEvaluation, samplePairs } from '../../eval/faithfulness.js';
import { BBT_PAIRS, loadPairs } from '../../eval/lib/faces.js';
import { describeWithFaces } from './helpers.js';

describeWithFaces('npm run eval (seeded subset)', () => {
  it('samples reproducibly, evaluates, resumes', async () => {
    const { pairs } = loadPairs();
    const s1 = samplePairs(pairs, 2, 3, 9);
    expect(s1.map((s) => s.index)).toEqual(samplePairs(pairs, 2, 3, 9).map((s) => s.index));
    expect(s1.filter((s) => s.pair.same)).toHaveLength(2);
    expect(s1.filter((s) => !s.pair.same)).toHaveLength(3);

    const out = mkdtempSync(join(tmpdir(), 'xfv-eval-'));
    const opts = {
      pairsFile: BBT_PAIRS,
      methods: ['fggb', 'random'] as ('fggb' | 'random')[],
      out,
      genuine: 1,
      impostor: 1,
      seed: 3,
      runtime: 'node' as const,
      progress: false,
    };
    const summary = await runEvaluation(opts);
    expect(summary.pairs).toBe(2);
    expect(summary.probes).toBe(4);
    const log = join(out, 'runs', readdirSync(join(out, 'runs')).find((f) => f.endsWith('.jsonl'))!);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(8); // 2 pairs × 2 directions × 2 methods
    for (const row of summary.rows) {
      expect(row.auc).toBeGreaterThanOrEqual(0);
      expect(row.auc).toBeLessThanOrEqual(100);
      expect(row.accuracy).toHaveLength(11);
    }
    const all = summary.rows.filter((r) => r.subset === 'all');
    expect(all).toHaveLength(2 * 2 * 2 * 2); // methods × kinds × fills × modes
    // At 0 % perturbed, deletion curves start at the clean similarity.
    const first = JSON.parse(lines[0]!) as { baseline: number; curves: Record<string, number[]> };
    expect(first.curves['similarity/gray/deletion']![0]).toBeCloseTo(first.baseline, 6);
    expect(markdownSummary(summary)).toMatch(/\| fggb \| similarity \| all pairs \| 4 \|/);

    const again = await runEvaluation(opts);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(8);
    expect(again.rows).toEqual(summary.rows);
  });
});
