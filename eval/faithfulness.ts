/**
 * @module eval/faithfulness
 * `npm run eval -- [--pairs file.tsv] [--methods fggb,fggb-centred-smooth,xssab,corrrise,random,centre-prior,…]
 *                  [--out eval/results] [--genuine N] [--impostor N] [--seed S] [--runtime node|web]`
 *
 * Deletion / Insertion faithfulness (DESIGN.md, after Lu et al.) of the explanation
 * methods on labelled pairs: only the probe is perturbed (both directions of every pair),
 * ratios 0…100 % in 10 % steps, black and gray fills, decisions by the served int8 model at
 * its θ. Similarity maps are judged on accepted genuine pairs, dissimilarity maps on
 * rejected impostor pairs, and both over all pairs; mean similarity curves are kept beside
 * the accuracy curves. Results per pair are appended to a JSONL file as they come, so an
 * interrupted run continues where it stopped. Bases are cached on disk (float16).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, relative, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { distEngine } from '../src/cli/dist-engine.js';
import { LOCAL_LIMITS } from '../src/cli/shrink.js';
import { type InputKind, prepareInput } from '../src/engine/inputs.js';
import { randomMap } from '../src/xfv/baselines.js';
import { CORRRISE_DEFAULTS } from '../src/xfv/corrrise.js';
import { RATIOS, curveAuc, fillValues, perturb, rankPixels, type PerturbMode } from '../src/xfv/faithfulness.js';
import { modelRef } from '../src/xfv/manifest.js';
import { meanOfOthers, pearson } from '../src/xfv/pointing.js';
import { SMOOTH_DEFAULTS } from '../src/xfv/smooth.js';
import { cosine } from '../src/xfv/verification.js';
import { BBT_PAIRS, REPO_ROOT, loadModelInput, loadPairs, type LabelledPair } from './lib/faces.js';
import { ALL_METHODS, type EvalMethod, type KindMaps, loadEvalModels, MAP_KINDS, PAIR_INDEPENDENT, parseMethods } from './lib/maps.js';
import { argGetter, type SampleOptions } from './lib/args.js';
import { generatedBy } from './lib/markdown.js';

export { ALL_METHODS, type EvalMethod };
const FILLS = ['black', 'gray'] as const;
const MODES: PerturbMode[] = ['deletion', 'insertion'];
const KINDS = MAP_KINDS;

export interface EvalOptions extends SampleOptions {
  /** What the pair files hold: aligned crops (BBT, the default) or photos (found and aligned by the engine). */
  input?: InputKind;
  progress: boolean;
  /**
   * Also judge, per method, two controls that do not explain the pair: the mean of the
   * method's maps of the other pairs' probes (leave one out), and the probe's map against
   * another reference (a counterfactual). A map that explains its pair beats both.
   */
  controls?: boolean;
}

/** The controls' names: `<method>~mean-of-others`, `<method>~other-reference`. */
export const CONTROLS = ['mean-of-others', 'other-reference'] as const;

/** One probe direction of one pair under one method: 11 similarities per fill/mode/kind. */
interface PairRecord {
  key: string;
  pair: number;
  a: string;
  b: string;
  same: boolean;
  direction: 'ab' | 'ba';
  /** A method, or a method's control (`fggb~mean-of-others`). */
  method: string;
  baseline: number;
  mapSeconds: number;
  curves: Record<string, number[]>;
  /** Controls `~mean-of-others`: Pearson's r of the method's own map of this probe to the mean map, per kind. */
  pearsonToOwn?: Record<string, number>;
}

function parseArgs(argv: string[]): EvalOptions {
  const get = argGetter(argv);
  const methods = parseMethods(get('methods') ?? ALL_METHODS.join(','));
  return {
    pairsFile: resolve(get('pairs') ?? BBT_PAIRS),
    methods,
    out: resolve(get('out') ?? join(REPO_ROOT, 'eval', 'results')),
    genuine: Number(get('genuine') ?? 80),
    impostor: Number(get('impostor') ?? 80),
    seed: Number(get('seed') ?? 1),
    runtime: (get('runtime') ?? 'node') as 'node' | 'web',
    input: (get('input') ?? 'aligned-crop') as InputKind,
    progress: !argv.includes('--no-progress'),
    controls: !argv.includes('--no-controls'),
  };
}

/** A seeded sub-sample: up to `genuine` genuine and `impostor` impostor pairs. */
export function samplePairs(
  pairs: LabelledPair[],
  genuine: number,
  impostor: number,
  seed: number,
): { pair: LabelledPair; index: number }[] {
  const noise = randomMap(pairs.length, seed);
  const indexed = pairs.map((pair, index) => ({ pair, index })).sort((x, y) => noise[x.index]! - noise[y.index]!);
  const g = indexed.filter((p) => p.pair.same).slice(0, genuine);
  const i = indexed.filter((p) => !p.pair.same).slice(0, impostor);
  return [...g, ...i].sort((x, y) => x.index - y.index);
}

export async function runEvaluation(opts: EvalOptions) {
  const runsDir = join(opts.out, 'runs');
  const models = await loadEvalModels(opts.runtime, join(runsDir, 'bases'));
  const { manifest, embed } = models;
  const θ = manifest.decision.threshold;

  const { pairs } = loadPairs(opts.pairsFile);
  const sample = samplePairs(pairs, opts.genuine, opts.impostor, opts.seed);
  const config = {
    pairsFile: relative(REPO_ROOT, opts.pairsFile),
    seed: opts.seed,
    genuine: opts.genuine,
    impostor: opts.impostor,
    model: modelRef(manifest).version,
    runtime: opts.runtime,
    ...(opts.input === 'photo' ? { input: opts.input } : {}),
  };
  const runId = createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 12);
  mkdirSync(runsDir, { recursive: true });
  const log = join(runsDir, `${runId}.jsonl`);
  const done = new Map<string, PairRecord>();
  if (existsSync(log))
    for (const line of readFileSync(log, 'utf8').split('\n'))
      if (line.trim()) {
        const r = JSON.parse(line) as PairRecord;
        done.set(r.key, r);
      }
  const inputs = new Map<string, Float32Array>();
  if (opts.input === 'photo') {
    // Photos go through the engine's own input stage (detection, landmarks, alignment) once each.
    const engine = await distEngine();
    const limits = LOCAL_LIMITS;
    for (const p of new Set(sample.flatMap(({ pair }) => [pair.a, pair.b]))) {
      inputs.set(p, (await prepareInput(engine, p, new Uint8Array(readFileSync(p)), { limits })).input);
    }
  }
  const input = (p: string) => {
    if (!inputs.has(p)) inputs.set(p, loadModelInput(p));
    return inputs.get(p)!;
  };

  /** Deletion and Insertion curves of `probe` against `otherEmb`, pixels taken in the order of `maps`. */
  const curvesOf = async (maps: KindMaps, probe: Float32Array, otherEmb: Float32Array) => {
    const curves: Record<string, number[]> = {};
    for (const kind of KINDS) {
      const order = rankPixels(maps[kind], 1);
      for (const fill of FILLS) {
        const values = fillValues(fill, manifest.input.mean, manifest.input.scale);
        for (const mode of MODES) {
          const perturbed = RATIOS.map((r) => perturb(probe, 3, order, r, values, mode));
          curves[`${kind}/${fill}/${mode}`] = (await embed(perturbed)).map((e) => cosine(e, otherEmb));
        }
      }
    }
    return curves;
  };
  const embeddings = new Map<string, Float32Array>();
  const embedding = async (p: string) => {
    if (!embeddings.has(p)) embeddings.set(p, (await embed([input(p)]))[0]!);
    return embeddings.get(p)!;
  };
  /** A probe's direction: the probe and its reference. */
  const roles = (pair: LabelledPair, d: 'ab' | 'ba') =>
    d === 'ab' ? { probe: pair.a, reference: pair.b } : { probe: pair.b, reference: pair.a };
  const record = async (
    pair: LabelledPair,
    index: number,
    d: 'ab' | 'ba',
    method: string,
    maps: KindMaps,
    mapSeconds: number,
    extra: Partial<PairRecord> = {},
  ) => {
    const key = `${index}:${d}:${method}`;
    const { probe, reference } = roles(pair, d);
    const otherEmb = await embedding(reference);
    const r: PairRecord = {
      key,
      pair: index,
      a: relative(REPO_ROOT, pair.a),
      b: relative(REPO_ROOT, pair.b),
      same: pair.same,
      direction: d,
      method,
      baseline: cosine(await embedding(probe), otherEmb),
      mapSeconds,
      curves: await curvesOf(maps, input(probe), otherEmb),
      ...extra,
    };
    appendFileSync(log, `${JSON.stringify(r)}\n`);
    done.set(key, r);
  };
  // Each probe's maps, kept for the controls (recomputed from the cached bases when a resumed run needs them).
  const probeMaps = new Map<string, KindMaps>();
  const mapsOf = async (method: EvalMethod, pair: LabelledPair, index: number) => {
    const [ma, mb] = await models.maps(
      method,
      [
        { x: input(pair.a), key: pair.a, embedding: await embedding(pair.a) },
        { x: input(pair.b), key: pair.b, embedding: await embedding(pair.b) },
      ],
      index,
    );
    probeMaps.set(`${index}:ab:${method}`, ma);
    probeMaps.set(`${index}:ba:${method}`, mb);
    return { ab: ma, ba: mb };
  };

  const bar = opts.progress
    ? new SingleBar({ format: 'eval [{bar}] {value}/{total} pairs | {eta_formatted} left | {method}', hideCursor: true })
    : undefined;
  bar?.start(sample.length, 0, { method: '' });
  for (const [n, { pair, index }] of sample.entries()) {
    for (const method of opts.methods) {
      const keys = (['ab', 'ba'] as const).map((d) => `${index}:${d}:${method}`);
      if (keys.every((k) => done.has(k))) continue;
      bar?.update(n, { method });
      // Maps for both probes (a for 'ab', b for 'ba'), timed.
      const t0 = performance.now();
      const maps = await mapsOf(method, pair, index);
      const mapSeconds = (performance.now() - t0) / 1000 / 2;
      for (const d of ['ab', 'ba'] as const)
        if (!done.has(`${index}:${d}:${method}`)) await record(pair, index, d, method, maps[d], mapSeconds);
    }
    bar?.update(n + 1, { method: '' });
  }

  if (opts.controls) {
    const judged = opts.methods.filter((m) => !PAIR_INDEPENDENT.includes(m));
    for (const method of judged)
      for (const [n, { pair, index }] of sample.entries()) {
        const missing = (['ab', 'ba'] as const)
          .flatMap((d) => CONTROLS.map((c) => `${index}:${d}:${method}~${c}`))
          .filter((k) => !done.has(k));
        if (!missing.length) continue;
        bar?.update(n, { method: `${method} controls` });
        // The mean of the method's maps of the other pairs' probes.
        const others: KindMaps[] = [];
        for (const o of sample)
          if (o.index !== index)
            for (const d of ['ab', 'ba'] as const)
              others.push(probeMaps.get(`${o.index}:${d}:${method}`) ?? (await mapsOf(method, o.pair, o.index))[d]);
        const meanMap: KindMaps = {
          similarity: meanOfOthers(
            others.map((m) => m.similarity),
            -1,
          ),
          dissimilarity: meanOfOthers(
            others.map((m) => m.dissimilarity),
            -1,
          ),
        };
        // Another reference: the reference of the next pair with the same label, in the same role.
        const peers = sample.filter((o) => o.pair.same === pair.same && o.index !== index);
        const peer = peers.find((o) => o.index > index) ?? peers[0];
        for (const d of ['ab', 'ba'] as const) {
          if (!done.has(`${index}:${d}:${method}~mean-of-others`)) {
            const own = probeMaps.get(`${index}:${d}:${method}`) ?? (await mapsOf(method, pair, index))[d];
            const pearsonToOwn = Object.fromEntries(KINDS.map((k) => [k, pearson(own[k], meanMap[k])]));
            await record(pair, index, d, `${method}~mean-of-others`, meanMap, 0, { pearsonToOwn });
          }
          if (!peer || done.has(`${index}:${d}:${method}~other-reference`)) continue;
          const { probe } = roles(pair, d);
          const other = roles(peer.pair, d).reference;
          const t0 = performance.now();
          const [mp] = await models.maps(
            method,
            [
              { x: input(probe), key: probe, embedding: await embedding(probe) },
              { x: input(other), key: other, embedding: await embedding(other) },
            ],
            index,
          );
          await record(pair, index, d, `${method}~other-reference`, mp, (performance.now() - t0) / 1000);
        }
      }
  }
  bar?.stop();
  const judged = [...opts.methods, ...(opts.controls ? controlNames(opts.methods) : [])];
  return summarise(
    [...done.values()].filter((r) => judged.includes(r.method) && sample.some((s) => s.index === r.pair)),
    θ,
    opts,
    config,
    sample.length,
  );
}

/** The controls judged beside `methods` (none for the pair-independent ones). */
const controlNames = (methods: EvalMethod[]) =>
  methods.filter((m) => !PAIR_INDEPENDENT.includes(m)).flatMap((m) => CONTROLS.map((c) => `${m}~${c}`));

/** One row of summary.json: a method's curves for one map kind, subset, fill and mode. */
export interface SummaryRow {
  method: string;
  kind: string;
  subset: string;
  fill: string;
  mode: string;
  n: number;
  auc: number;
  accuracy: number[];
  meanSimilarity: number[];
}

function summarise(records: PairRecord[], θ: number, opts: EvalOptions, config: Record<string, unknown>, pairCount: number) {
  const rows: SummaryRow[] = [];
  const seconds: Record<string, number> = {};
  for (const method of [...opts.methods, ...(opts.controls ? controlNames(opts.methods) : [])]) {
    const mine = records.filter((r) => r.method === method);
    seconds[method] = mine.reduce((s, r) => s + r.mapSeconds, 0) / Math.max(1, mine.length);
    for (const kind of KINDS) {
      const focus = mine.filter((r) => (kind === 'similarity' ? r.same && r.baseline >= θ : !r.same && r.baseline < θ));
      // focus-even / focus-odd: by the pair's line in the pairs file, the halves a choice is
      // made on and checked on (eval/default.ts).
      const subsets: Record<string, PairRecord[]> = {
        focus,
        all: mine,
        'focus-even': focus.filter((r) => r.pair % 2 === 0),
        'focus-odd': focus.filter((r) => r.pair % 2 === 1),
      };
      for (const [subset, set] of Object.entries(subsets))
        for (const fill of FILLS)
          for (const mode of MODES) {
            const curves = set.map((r) => r.curves[`${kind}/${fill}/${mode}`]!);
            if (!curves.length) continue;
            const accuracy = RATIOS.map((_, i) => set.filter((r, j) => curves[j]![i]! >= θ === r.same).length / set.length);
            const meanSimilarity = RATIOS.map((_, i) => curves.reduce((s, c) => s + c[i]!, 0) / curves.length);
            rows.push({ method, kind, subset, fill, mode, n: set.length, auc: curveAuc(accuracy), accuracy, meanSimilarity });
          }
    }
  }
  return {
    config,
    threshold: θ,
    ratios: RATIOS,
    pairs: pairCount,
    probes: records.filter((r) => opts.methods.includes(r.method as EvalMethod)).length / Math.max(1, opts.methods.length),
    pairSpecificity: pairSpecificity(records, opts),
    secondsPerProbe: seconds,
    corrrise: CORRRISE_DEFAULTS,
    smooth: SMOOTH_DEFAULTS,
    rows,
  };
}

/**
 * Per method and map kind, the mean over probes of Pearson's r between the probe's map and
 * the method's mean map over the other pairs: near 1, the map is mostly the same whatever
 * the pair.
 */
function pairSpecificity(records: PairRecord[], opts: EvalOptions) {
  const out: { method: string; kind: string; n: number; pearsonToMean: number }[] = [];
  for (const method of opts.controls ? opts.methods.filter((m) => !PAIR_INDEPENDENT.includes(m)) : [])
    for (const kind of KINDS) {
      const rs = records
        .filter((r) => r.method === `${method}~mean-of-others`)
        .map((r) => r.pearsonToOwn?.[kind])
        .filter((v): v is number => v !== undefined && !Number.isNaN(v));
      if (rs.length) out.push({ method, kind, n: rs.length, pearsonToMean: rs.reduce((a, b) => a + b, 0) / rs.length });
    }
  return out;
}

/**
 * Each method against the pair-independent answers, on the probes a map kind is judged on
 * (gray fill): similarity maps by accuracy Deletion AUC (↓), dissimilarity maps by the
 * mean-cosine Deletion AUC (↑, since accuracy barely moves on rejected impostors). The
 * margin is how far the method's map beats the best pair-independent answer (its own mean
 * map over the other pairs, the centre prior when it was run); positive is better.
 */
export function markdownBaselines(summary: Awaited<ReturnType<typeof runEvaluation>>): string {
  const row = (m: string, kind: string) =>
    summary.rows.find((r) => r.method === m && r.kind === kind && r.subset === 'focus' && r.fill === 'gray' && r.mode === 'deletion');
  const score = (m: string, kind: string) => {
    const r = row(m, kind);
    if (!r) return Number.NaN;
    return kind === 'similarity' ? r.auc : curveAuc(r.meanSimilarity);
  };
  const methods = [...new Set(summary.rows.map((r) => r.method))].filter(
    (m) => !m.includes('~') && !PAIR_INDEPENDENT.includes(m as EvalMethod),
  );
  const f = (v: number) => (Number.isNaN(v) ? '—' : v.toFixed(1));
  const lines = [
    '| method | map | judged on | its maps | mean of its maps over the other pairs | its map against another reference | centre prior | random | margin over the best pair-independent | r to its mean map |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const kind of KINDS)
    for (const m of methods) {
      const own = score(m, kind);
      const mean = score(`${m}~mean-of-others`, kind);
      const prior = score('centre-prior', kind);
      const better = kind === 'similarity' ? (a: number, b: number) => b - a : (a: number, b: number) => a - b;
      const bestIndependent = [mean, prior].filter((v) => !Number.isNaN(v));
      const margin = bestIndependent.length ? Math.min(...bestIndependent.map((b) => better(own, b))) : Number.NaN;
      const r = summary.pairSpecificity.find((p) => p.method === m && p.kind === kind)?.pearsonToMean ?? Number.NaN;
      const judged = kind === 'similarity' ? 'accepted genuine, accuracy Deletion ↓' : 'rejected impostor, mean-cosine Deletion ↑';
      lines.push(
        `| ${m} | ${kind} | ${judged} | ${f(own)} | ${f(mean)} | ${f(score(`${m}~other-reference`, kind))} | ${f(prior)} | ${f(score('random', kind))} | ${f(margin)} | ${Number.isNaN(r) ? '—' : r.toFixed(2)} |`,
      );
    }
  return lines.join('\n');
}

export function markdownSummary(summary: Awaited<ReturnType<typeof runEvaluation>>): string {
  // Accuracy AUCs (the paper's measure), then the AUC of the mean cosine curve (gray fill):
  // deleting a similarity map's pixels should lower the cosine, a dissimilarity map's raise it.
  const header =
    '| method | map | judged on | probes | Deletion AUC black ↓ | Deletion AUC gray ↓ | Insertion AUC black ↑ | Insertion AUC gray ↑ | mean cos Deletion gray (sim ↓, dissim ↑) | mean cos Insertion gray (sim ↑, dissim ↓) | s / probe |';
  const lines = [header, '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |'];
  const find = (m: string, k: string, s: string, f: string, mode: string) =>
    summary.rows.find((r) => r.method === m && r.kind === k && r.subset === s && r.fill === f && r.mode === mode);
  const methods = [...new Set(summary.rows.map((r) => r.method))];
  for (const kind of KINDS)
    for (const subset of ['focus', 'all'])
      for (const m of methods) {
        const cells = [
          find(m, kind, subset, 'black', 'deletion'),
          find(m, kind, subset, 'gray', 'deletion'),
          find(m, kind, subset, 'black', 'insertion'),
          find(m, kind, subset, 'gray', 'insertion'),
        ];
        if (!cells[0]) continue;
        const judged = subset === 'all' ? 'all pairs' : kind === 'similarity' ? 'accepted genuine' : 'rejected impostor';
        lines.push(
          `| ${m} | ${kind} | ${judged} | ${cells[0].n} | ${cells.map((c) => (c ? c.auc.toFixed(2) : '')).join(' | ')} | ${[cells[1], cells[3]].map((c) => (c ? curveAuc(c.meanSimilarity).toFixed(2) : '')).join(' | ')} | ${summary.secondsPerProbe[m]!.toFixed(2)} |`,
        );
      }
  return lines.join('\n');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const summary = await runEvaluation(opts);
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(join(opts.out, 'summary.json'), `${JSON.stringify(summary, null, 1)}\n`);
  const md = markdownSummary(summary);
  const baselines = opts.controls ? `\n\n## Against pair-independent maps\n\n${markdownBaselines(summary)}\n` : '\n';
  writeFileSync(join(opts.out, 'summary.md'), `${generatedBy('npm run eval')}\n\n${md}${baselines}`);
  console.log(
    `\n${md}\n\n${summary.pairs} pairs in ${((performance.now() - t0) / 60000).toFixed(1)} min; wrote ${relative(process.cwd(), join(opts.out, 'summary.json'))} and summary.md`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main().catch((e: unknown) => {
    console.error(`eval: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
