/**
 * @module eval/default
 * `npm run eval:default`: which explanation the API serves by default, decided by a rule
 * fixed before the numbers: among the modes a client can afford synchronously and cache
 * per image (fggb, fggb-centred, fggb-smooth, fggb-centred-smooth), the one with the best
 * Insertion − Deletion AUC (gray fill) for similarity maps on accepted genuine pairs of the
 * development photos' even half (pairs on even lines of pairs.tsv). The odd half (held
 * out) and a sample of the BBT pairs check it; the dissimilarity maps' mean-cosine Deletion
 * AUC on rejected impostors is shown beside (random is the floor). Reads the summaries the
 * two `npm run eval` runs below write and writes eval/results/default.md and default.json.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedBy, markdownTable } from './lib/markdown.js';
import { curveAuc } from '../src/xfv/faithfulness.js';
import type { SummaryRow } from './faithfulness.js';
import { REPO_ROOT } from './lib/faces.js';

export const CANDIDATES = ['fggb', 'fggb-centred', 'fggb-smooth', 'fggb-centred-smooth'] as const;
export const PHOTO_RUN =
  'npm run eval -- --pairs ../shared/faces/photos/pairs.tsv --input photo --genuine 16 --impostor 16 --out eval/results/photos-faithfulness';
export const BBT_RUN =
  'npm run eval -- --methods fggb,fggb-centred,fggb-smooth,fggb-centred-smooth,xssab,random --genuine 24 --impostor 24 --out eval/results/bbt-variants';
const SHOWN = [...CANDIDATES, 'xssab', 'gradient', 'corrrise', 'random'];

type Row = SummaryRow;

function load(path: string): Row[] {
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm run eval first (docs/evaluation.md)`);
  return (JSON.parse(readFileSync(path, 'utf8')) as { rows: Row[] }).rows;
}

const find = (rows: Row[], method: string, kind: string, subset: string, mode: string) =>
  rows.find((r) => r.method === method && r.kind === kind && r.subset === subset && r.fill === 'gray' && r.mode === mode);

function score(rows: Row[], method: string, subset: string) {
  const del = find(rows, method, 'similarity', subset, 'deletion');
  const ins = find(rows, method, 'similarity', subset, 'insertion');
  const dis = find(rows, method, 'dissimilarity', subset, 'deletion');
  if (!del || !ins) return undefined;
  return {
    n: del.n,
    deletion: del.auc,
    insertion: ins.auc,
    margin: ins.auc - del.auc,
    dissimCos: dis ? curveAuc(dis.meanSimilarity) : Number.NaN,
  };
}

function main() {
  const results = join(REPO_ROOT, 'eval', 'results');
  const sets = {
    'photos, even half (choose)': { rows: load(join(results, 'photos-faithfulness', 'summary.json')), subset: 'focus-even' },
    'photos, odd half (held out)': { rows: load(join(results, 'photos-faithfulness', 'summary.json')), subset: 'focus-odd' },
    'BBT crops (check)': { rows: load(join(results, 'bbt-variants', 'summary.json')), subset: 'focus' },
  };
  const choose = sets['photos, even half (choose)'];
  const ranked = CANDIDATES.map((m) => ({ m, s: score(choose.rows, m, choose.subset) }))
    .filter((c) => c.s)
    .sort((x, y) => y.s!.margin - x.s!.margin);
  if (!ranked.length) throw new Error('no candidate mode in the photo summary: run npm run eval with the fggb variants');
  const chosen = ranked[0]!.m;
  const tables = Object.entries(sets).map(([name, { rows, subset }]) => {
    const lines = SHOWN.flatMap((m) => {
      const s = score(rows, m, subset);
      return s
        ? [
            [
              m === chosen ? `**${m}**` : m,
              s.n,
              s.deletion.toFixed(2),
              s.insertion.toFixed(2),
              s.margin.toFixed(2),
              Number.isNaN(s.dissimCos) ? '' : s.dissimCos.toFixed(2),
            ],
          ]
        : [];
    });
    return `**${name}**\n\n${markdownTable(
      ['mode', 'probes', 'sim Deletion ↓', 'sim Insertion ↑', 'Insertion − Deletion ↑', 'dissim mean cos Deletion ↑'],
      lines,
    )}`;
  });
  const md = [
    `Served default by the rule in \`eval/default.ts\`: **${chosen}** (best Insertion − Deletion among ${CANDIDATES.join(', ')} on the even half of the development photos). Gray fill; similarity maps on accepted genuine probes, dissimilarity maps on rejected impostor probes of the same pairs.`,
    '',
    ...tables.flatMap((t) => [t, '']),
    `_Reproduce: \`npm run eval:choose\` (that is \`${PHOTO_RUN}\`, \`${BBT_RUN}\`, then \`npm run eval:default\`; runs resume from eval/results/*/runs)._`,
  ].join('\n');
  writeFileSync(join(results, 'default.md'), `${generatedBy('npm run eval:default')}\n\n${md}\n`);
  writeFileSync(join(results, 'default.json'), `${JSON.stringify({ chosen, ranked }, null, 1)}\n`);
  console.log(md);
}

main();
