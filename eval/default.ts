/**
 * @module eval/default
 * `npm run eval:default`: which explanation the API serves by default, decided by a rule
 * fixed before the numbers, on the measures that tell whether a map explains its pair
 * (docs/evaluation.md, "Does a map explain its pair?"). Reads the faithfulness controls of
 * the development photos (eval/results/photos-controls) and their region transplants
 * (eval/results/transplants); writes eval/results/default.md and default.json.
 *
 * The rule. Pairs on even lines of the photos' pairs.tsv choose; pairs on odd lines check.
 * 1. The four targets of a method on a half:
 *    - similarity Deletion (accuracy AUC, gray fill, accepted genuine probes) no worse than
 *      both pair-independent answers: the centre prior and the method's own mean map over
 *      the other pairs;
 *    - similarity transplants: pointing AUC ≥ 0.8, and ≥ 0.15 above both the probe's map
 *      before the transplant and the mean map (eval/margins POINTING_TARGET);
 *    - dissimilarity transplants: the same;
 *    - dissimilarity Deletion (mean cosine, rejected impostor probes) ≥ random + 3.
 * 2. A candidate is eligible when it meets both similarity targets on the even half.
 * 3. Among the eligible, the default meets the most targets on the even half; ties go to the
 *    cheapest new pair (COST_PER_NEW_PAIR), then to the larger similarity pointing margin.
 * 4. The check: on the odd half, the chosen method must meet every target it met on the
 *    even half. If it does not, or no candidate is eligible, the default does not change.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { curveAuc } from '../src/xfv/faithfulness.js';
import type { SummaryRow } from './faithfulness.js';
import { REPO_ROOT } from './lib/faces.js';
import { generatedBy, markdownTable } from './lib/markdown.js';
import { DISSIMILARITY_OVER_RANDOM, POINTING_TARGET } from './margins.js';
import type { TransplantRow } from './transplants.js';

/** The configurations the API can serve, by their evaluation names. */
export const CANDIDATES = ['fggb', 'fggb-centred-smooth', 'xssab', 'corrrise', 'corrrise-128'] as const;
type Candidate = (typeof CANDIDATES)[number];

/** The default before this rule ran: it stays when the rule picks nothing. */
const CURRENT_DEFAULT: Candidate = 'fggb-centred-smooth';

/**
 * Work for a pair of new images, in int8 forwards (a fp32 gradient-graph row counts 2.2:
 * one VJP row ≈ one fp32 forward, `npm run bench:grad`; the int8 forward is 2.2× faster).
 * FGGB: 128 rows per image per basis, 4 bases smoothed; xSSAB: one VJP per image;
 * CorrRISE: one int8 forward per mask per image.
 */
export const COST_PER_NEW_PAIR: Record<Candidate, number> = {
  fggb: 2 * 128 * 2.2,
  'fggb-centred-smooth': 2 * 4 * 128 * 2.2,
  xssab: 2 * 2.2,
  corrrise: 2 * 200,
  'corrrise-128': 2 * 128,
};

const HALVES = { even: 'focus-even', odd: 'focus-odd' } as const;
type Half = keyof typeof HALVES;

const TARGETS = ['similarity Deletion', 'similarity transplants', 'dissimilarity transplants', 'dissimilarity Deletion'] as const;
type Target = (typeof TARGETS)[number];

interface Measured {
  simDeletion: number;
  simDeletionBaseline: number;
  disDeletion: number;
  disRandom: number;
  simPointing: TransplantRow;
  disPointing: TransplantRow;
  met: Record<Target, boolean>;
}

function load<T>(path: string): T {
  if (!existsSync(path)) throw new Error(`${path} is missing: run the evaluations first (docs/evaluation.md)`);
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export function measure(rows: SummaryRow[], transplants: TransplantRow[], method: string, half: Half): Measured | undefined {
  const deletion = (m: string, kind: string) => {
    const r = rows.find(
      (x) => x.method === m && x.kind === kind && x.subset === HALVES[half] && x.fill === 'gray' && x.mode === 'deletion',
    );
    return r && (kind === 'similarity' ? r.auc : curveAuc(r.meanSimilarity));
  };
  const pointing = (kind: string) => transplants.find((t) => t.method === method && t.kind === kind && t.subset === half);
  const [simDeletion, others, prior, disDeletion, disRandom] = [
    deletion(method, 'similarity'),
    deletion(`${method}~mean-of-others`, 'similarity'),
    deletion('centre-prior', 'similarity'),
    deletion(method, 'dissimilarity'),
    deletion('random', 'dissimilarity'),
  ];
  const [simPointing, disPointing] = [pointing('similarity'), pointing('dissimilarity')];
  if ([simDeletion, others, prior, disDeletion, disRandom].some((v) => v === undefined) || !simPointing || !disPointing) return undefined;
  const points = (t: TransplantRow) => t.auc >= POINTING_TARGET.auc && t.margin >= POINTING_TARGET.margin;
  const simDeletionBaseline = Math.min(others!, prior!);
  return {
    simDeletion: simDeletion!,
    simDeletionBaseline,
    disDeletion: disDeletion!,
    disRandom: disRandom!,
    simPointing,
    disPointing,
    met: {
      'similarity Deletion': simDeletion! <= simDeletionBaseline,
      'similarity transplants': points(simPointing),
      'dissimilarity transplants': points(disPointing),
      'dissimilarity Deletion': disDeletion! - disRandom! >= DISSIMILARITY_OVER_RANDOM,
    },
  };
}

const count = (m: Measured) => TARGETS.filter((t) => m.met[t]).length;

/** The rule (steps 2–4 of the module comment) on measurements of both halves. */
export function chooseDefault(measured: Partial<Record<Candidate, Record<Half, Measured>>>) {
  const eligible = CANDIDATES.filter((c) => {
    const m = measured[c]?.even;
    return m?.met['similarity Deletion'] && m.met['similarity transplants'];
  });
  const ranked = [...eligible].sort((x, y) => {
    const [mx, my] = [measured[x]!.even, measured[y]!.even];
    return count(my) - count(mx) || COST_PER_NEW_PAIR[x] - COST_PER_NEW_PAIR[y] || my.simPointing.margin - mx.simPointing.margin;
  });
  const picked = ranked[0];
  const failedCheck = picked ? TARGETS.filter((t) => measured[picked]!.even.met[t] && !measured[picked]!.odd.met[t]) : [];
  const chosen = picked && failedCheck.length === 0 ? picked : CURRENT_DEFAULT;
  return { eligible, ranked, picked, failedCheck, chosen };
}

function main() {
  const results = join(REPO_ROOT, 'eval', 'results');
  const controls = load<{ rows: SummaryRow[] }>(join(results, 'photos-controls', 'summary.json')).rows;
  const transplants = load<{ rows: TransplantRow[] }>(join(results, 'transplants', 'transplants.json')).rows;
  const measured: Partial<Record<Candidate, Record<Half, Measured>>> = {};
  for (const c of CANDIDATES) {
    const [even, odd] = [measure(controls, transplants, c, 'even'), measure(controls, transplants, c, 'odd')];
    if (even && odd) measured[c] = { even, odd };
    else console.warn(`eval:default: ${c} is missing from the controls or the transplants; left out`);
  }
  const decision = chooseDefault(measured);
  const f1 = (v: number) => v.toFixed(1);
  const f3 = (v: number) => v.toFixed(3);
  const tick = (b: boolean) => (b ? '✓' : '✗');
  const table = (half: Half) =>
    markdownTable(
      [
        'method',
        'work per new pair (int8 forwards)',
        'sim Deletion ↓ (best pair-independent)',
        'sim transplants AUC (margin)',
        'dissim transplants AUC (margin)',
        'dissim mean-cos Deletion ↑ (random)',
        'targets met',
      ],
      CANDIDATES.filter((c) => measured[c]).map((c) => {
        const m = measured[c]![half];
        return [
          c === decision.chosen ? `**${c}**` : c,
          Math.round(COST_PER_NEW_PAIR[c]),
          `${f1(m.simDeletion)} (${f1(m.simDeletionBaseline)}) ${tick(m.met['similarity Deletion'])}`,
          `${f3(m.simPointing.auc)} (${m.simPointing.margin >= 0 ? '+' : ''}${f3(m.simPointing.margin)}) ${tick(m.met['similarity transplants'])}`,
          `${f3(m.disPointing.auc)} (${m.disPointing.margin >= 0 ? '+' : ''}${f3(m.disPointing.margin)}) ${tick(m.met['dissimilarity transplants'])}`,
          `${f1(m.disDeletion)} (${f1(m.disRandom)}) ${tick(m.met['dissimilarity Deletion'])}`,
          `${count(m)} of 4`,
        ];
      }),
    );
  const verdict = decision.picked
    ? decision.failedCheck.length
      ? `The rule picked **${decision.picked}** on the even half, but on the odd half it missed ${decision.failedCheck.join(', ')}: the default stays **${decision.chosen}**.`
      : `The rule picks **${decision.picked}** on the even half (eligible: ${decision.eligible.join(', ')}), and the odd half confirms every target it met.`
    : `No candidate meets both similarity targets on the even half: the default stays **${decision.chosen}**.`;
  const md = [
    `Served default by the rule in \`eval/default.ts\` (fixed before these numbers): ${verdict}`,
    '',
    '**Pairs on even lines of the photos’ pairs.tsv (choose)**',
    '',
    table('even'),
    '',
    '**Pairs on odd lines (check)**',
    '',
    table('odd'),
    '',
    `_Targets: similarity Deletion no worse than the better of the centre prior and the method's mean map over the other pairs; transplant pointing AUC ≥ ${POINTING_TARGET.auc} and ≥ ${POINTING_TARGET.margin} above both the map before the transplant and the mean map; dissimilarity mean-cos Deletion ≥ random + ${DISSIMILARITY_OVER_RANDOM}. Reproduce: the photos-controls and transplants runs in docs/evaluation.md, then \`npm run eval:default\`._`,
  ].join('\n');
  writeFileSync(join(results, 'default.md'), `${generatedBy('npm run eval:default')}\n\n${md}\n`);
  writeFileSync(join(results, 'default.json'), `${JSON.stringify({ ...decision, measured }, null, 1)}\n`);
  console.log(md);
}

if (process.argv[1]?.endsWith('default.ts')) main();
