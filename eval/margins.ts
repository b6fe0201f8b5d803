/**
 * @module eval/margins
 * `npm run eval:margins`: what the service says about each method's maps
 * (`explanation.faithfulness`), from the measures that tell whether a map explains its pair
 * on the development photos: the faithfulness controls (eval/results/photos-controls) and
 * the region transplants (eval/results/transplants). Writes models/faithfulness.json, which
 * the model build puts in the manifest.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { curveAuc } from '../src/xfv/faithfulness.js';
import type { FaithfulnessEvidence, MapEvidence } from '../src/xfv/manifest.js';
import type { SummaryRow } from './faithfulness.js';
import { FAITHFULNESS_FILE } from '../models/build.js';
import { REPO_ROOT } from './lib/faces.js';
import type { TransplantRow } from './transplants.js';

/** The pointing AUC a planted cause needs, and how far above the pair-independent answers. */
export const POINTING_TARGET = { auc: 0.8, margin: 0.15 };

/** How far above random a dissimilarity map's mean-cosine Deletion must be. */
export const DISSIMILARITY_OVER_RANDOM = 3;

const CONTROLS = join(REPO_ROOT, 'eval', 'results', 'photos-controls', 'summary.json');
const TRANSPLANTS = join(REPO_ROOT, 'eval', 'results', 'transplants', 'transplants.json');

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/** The evidence for every method measured by both evaluations. */
export function faithfulnessEvidence(rows: SummaryRow[], transplants: TransplantRow[]): FaithfulnessEvidence['methods'] {
  const deletion = (method: string, kind: string) => {
    const r = rows.find(
      (x) => x.method === method && x.kind === kind && x.subset === 'focus' && x.fill === 'gray' && x.mode === 'deletion',
    );
    if (!r) return undefined;
    return kind === 'similarity' ? r.auc : curveAuc(r.meanSimilarity);
  };
  const methods = [...new Set(transplants.map((t) => t.method))].filter(
    (m) => !['random', 'centre-prior'].includes(m) && deletion(m, 'similarity') !== undefined,
  );
  const out: FaithfulnessEvidence['methods'] = {};
  for (const method of methods) {
    const evidence = (kind: 'similarity' | 'dissimilarity'): MapEvidence => {
      const [maps, meanOfOthers, centrePrior, random] = [method, `${method}~mean-of-others`, 'centre-prior', 'random'].map(
        (m) => deletion(m, kind) ?? Number.NaN,
      ) as [number, number, number, number];
      const beats = (b: number) => (kind === 'similarity' ? b - maps : maps - b);
      const margin = Math.min(beats(meanOfOthers), beats(centrePrior));
      const t = transplants.find((x) => x.method === method && x.kind === kind && (x.subset ?? 'all') === 'all')!;
      return {
        deletion: {
          maps: round(maps, 1),
          meanOfOthers: round(meanOfOthers, 1),
          centrePrior: round(centrePrior, 1),
          random: round(random, 1),
          margin: round(margin, 1),
        },
        transplant: {
          pointingAuc: round(t.auc, 3),
          before: round(t.aucBefore, 3),
          meanOfOthers: round(t.aucMeanOfOthers, 3),
          margin: round(t.margin, 3),
        },
        // The targets of issue 33: Deletion no worse than both pair-independent maps (and,
        // for dissimilarity maps, 3 points above random), and a planted cause pointed at.
        explainsPair:
          margin >= 0 &&
          (kind === 'similarity' || maps - random >= DISSIMILARITY_OVER_RANDOM) &&
          t.auc >= POINTING_TARGET.auc &&
          t.margin >= POINTING_TARGET.margin,
      };
    };
    out[method] = { similarity: evidence('similarity'), dissimilarity: evidence('dissimilarity') };
  }
  return out;
}

function main() {
  const controls = JSON.parse(readFileSync(CONTROLS, 'utf8')) as { rows: SummaryRow[]; pairs: number };
  const transplants = JSON.parse(readFileSync(TRANSPLANTS, 'utf8')) as { rows: TransplantRow[]; cases: unknown[] };
  const evidence: FaithfulnessEvidence = {
    source: `development photos: ${controls.pairs} pairs with controls (eval/results/photos-controls), ${transplants.cases.length} region transplants (eval/results/transplants); npm run eval:margins`,
    methods: faithfulnessEvidence(controls.rows, transplants.rows),
  };
  writeFileSync(FAITHFULNESS_FILE, `${JSON.stringify({ generatedBy: 'npm run eval:margins', ...evidence }, null, 1)}\n`);
  for (const [m, e] of Object.entries(evidence.methods))
    console.log(
      `${m}: similarity ${e.similarity.explainsPair ? 'explains the pair' : 'not shown to'}, dissimilarity ${e.dissimilarity.explainsPair ? 'explains the pair' : 'not shown to'}`,
    );
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) main();
