/**
 * @module eval/faithfulness
 * `npm run eval -- [--pairs file.tsv] [--methods fggb,fggb-raw,fggb-centred,xssab,gradient,random,corrrise]
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
import { generatedBy } from './lib/markdown.js';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { embedBatch, type OrtModule, type OrtSession } from '../src/engine/embed.js';
import { type BasisCache, type ExplainMethod, explainOptionsFor, explainPair } from '../src/engine/explain-pair.js';
import { gradientRunner, gradientShape } from '../src/engine/gradient.js';
import { bytesBasisCache } from '../src/store/basis.js';
import { randomMap } from '../src/xfv/baselines.js';
import { CORRRISE_DEFAULTS, corrRiseMasks } from '../src/xfv/corrrise.js';
import { SMOOTH_DEFAULTS } from '../src/xfv/smooth.js';
import { corrRiseMaps } from '../src/engine/corrrise.js';
import { displayMap } from '../src/xfv/display.js';
import { RATIOS, curveAuc, fillValues, perturb, rankPixels, type PerturbMode } from '../src/xfv/faithfulness.js';
import { type ModelManifest, modelRef } from '../src/xfv/manifest.js';
import { cosine } from '../src/xfv/verification.js';
import { distEngine } from '../src/cli/dist-engine.js';
import { type InputKind, prepareInput } from '../src/engine/inputs.js';
import { LOCAL_LIMITS } from '../src/cli/shrink.js';
import { BBT_PAIRS, REPO_ROOT, loadModelInput, loadPairs, type LabelledPair } from './lib/faces.js';
import { distGradient, nodeSession, ortNode, ortWeb, webSession } from './lib/ort.js';

export const ALL_METHODS = [
  'fggb',
  'fggb-raw',
  'fggb-centred',
  'fggb-smooth',
  'fggb-centred-smooth',
  'xssab',
  'gradient',
  'random',
  'corrrise',
] as const;
export type EvalMethod = (typeof ALL_METHODS)[number];
const FILLS = ['black', 'gray'] as const;
const MODES: PerturbMode[] = ['deletion', 'insertion'];
const KINDS = ['similarity', 'dissimilarity'] as const;

export interface EvalOptions {
  pairsFile: string;
  methods: EvalMethod[];
  out: string;
  genuine: number;
  impostor: number;
  seed: number;
  runtime: 'node' | 'web';
  /** What the pair files hold: aligned crops (BBT, the default) or photos (found and aligned by the engine). */
  input?: InputKind;
  progress: boolean;
}

/** One probe direction of one pair under one method: 11 similarities per fill/mode/kind. */
interface PairRecord {
  key: string;
  pair: number;
  a: string;
  b: string;
  same: boolean;
  direction: 'ab' | 'ba';
  method: EvalMethod;
  baseline: number;
  mapSeconds: number;
  curves: Record<string, number[]>;
}

function parseArgs(argv: string[]): EvalOptions {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const methods = (get('methods') ?? ALL_METHODS.join(',')).split(',').map((m) => m.trim()) as EvalMethod[];
  const unknown = methods.filter((m) => !ALL_METHODS.includes(m));
  if (unknown.length) throw new Error(`unknown method(s) ${unknown.join(', ')}; choose from ${ALL_METHODS.join(', ')}`);
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

function diskBasisCache(dir: string): BasisCache {
  mkdirSync(dir, { recursive: true });
  const path = (key: string) => join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 24)}.basis`);
  return bytesBasisCache(
    (key) => (existsSync(path(key)) ? new Uint8Array(readFileSync(path(key))) : undefined),
    (key, bytes) => writeFileSync(path(key), bytes),
  );
}

export async function runEvaluation(opts: EvalOptions) {
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'models', 'dist', 'manifest.json'), 'utf8')) as ModelManifest;
  const dist = (f: string) => readFileSync(join(REPO_ROOT, 'models', 'dist', f));
  const ort = (opts.runtime === 'node' ? ortNode : ortWeb) as unknown as OrtModule;
  const session = (bytes: Uint8Array, options = {}) =>
    (opts.runtime === 'node' ? nodeSession(bytes, options) : webSession(bytes, options)) as Promise<OrtSession>;
  const int8 = await session(dist(manifest.files.int8.path));
  const gradient = distGradient(join(REPO_ROOT, 'models', 'dist'));
  const runner = gradientRunner(ort, await session(gradient.graph, gradient.options), gradientShape(manifest));
  const size = manifest.input.size;
  const pixels = size * size;
  const θ = manifest.decision.threshold;
  const embed = async (xs: Float32Array[]) => {
    const out: Float32Array[] = [];
    for (let i = 0; i < xs.length; i += 11) out.push(...(await embedBatch(ort, int8, xs.slice(i, i + 11), size)));
    return out;
  };

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
  const runsDir = join(opts.out, 'runs');
  mkdirSync(runsDir, { recursive: true });
  const log = join(runsDir, `${runId}.jsonl`);
  const done = new Map<string, PairRecord>();
  if (existsSync(log))
    for (const line of readFileSync(log, 'utf8').split('\n'))
      if (line.trim()) {
        const r = JSON.parse(line) as PairRecord;
        done.set(r.key, r);
      }
  const cache = diskBasisCache(join(runsDir, 'bases'));
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
  const masks = opts.methods.includes('corrrise') ? corrRiseMasks(size) : [];
  const gray = fillValues('gray', manifest.input.mean, manifest.input.scale);

  const bar = opts.progress
    ? new SingleBar({ format: 'eval [{bar}] {value}/{total} pairs | {eta_formatted} left | {method}', hideCursor: true })
    : undefined;
  bar?.start(sample.length, 0, { method: '' });
  for (const [n, { pair, index }] of sample.entries()) {
    const xs = { a: input(pair.a), b: input(pair.b) };
    const [ea, eb] = await embed([xs.a, xs.b]);
    for (const method of opts.methods) {
      const keys = (['ab', 'ba'] as const).map((d) => `${index}:${d}:${method}`);
      if (keys.every((k) => done.has(k))) continue;
      bar?.update(n, { method });
      // Maps for both probes (a for 'ab', b for 'ba'), timed.
      const t0 = performance.now();
      const maps: Record<'ab' | 'ba', { similarity: Float32Array; dissimilarity: Float32Array }> = {} as never;
      if (method === 'random') {
        for (const d of ['ab', 'ba'] as const) {
          const r = randomMap(pixels, index * 2 + (d === 'ab' ? 0 : 1) + 1);
          maps[d] = { similarity: r, dissimilarity: r };
        }
      } else if (method === 'corrrise') {
        for (const d of ['ab', 'ba'] as const) {
          const [probe, otherEmb] = d === 'ab' ? [xs.a, eb!] : [xs.b, ea!];
          // The API's own CorrRISE (engine/corrrise), on the same int8 embeddings.
          maps[d] = await corrRiseMaps(embed, probe, otherEmb, masks, { size, fill: gray, batch: 40 });
        }
      } else {
        const base: ExplainMethod = method.startsWith('fggb') ? 'fggb' : (method as ExplainMethod);
        const centre = method.startsWith('fggb-centred');
        const smooth = method.endsWith('-smooth') ? SMOOTH_DEFAULTS : undefined;
        const variant = `${centre}${smooth ? ':smooth' : ''}`;
        const expl = await explainPair(
          runner,
          [
            { x: xs.a, basisKey: `${pair.a}:${variant}` },
            { x: xs.b, basisKey: `${pair.b}:${variant}` },
          ],
          explainOptionsFor(manifest, { method: base, centre, smooth, dtype: 'f16', cache, store: true }),
        );
        const shown = (m: Float32Array) => (method === 'fggb-raw' ? m : displayMap(m, size, size));
        maps.ab = { similarity: shown(expl.a.maps.similarity), dissimilarity: shown(expl.a.maps.dissimilarity) };
        maps.ba = { similarity: shown(expl.b.maps.similarity), dissimilarity: shown(expl.b.maps.dissimilarity) };
      }
      const mapSeconds = (performance.now() - t0) / 1000 / 2;
      for (const d of ['ab', 'ba'] as const) {
        const key = `${index}:${d}:${method}`;
        if (done.has(key)) continue;
        const [probe, otherEmb] = d === 'ab' ? [xs.a, eb!] : [xs.b, ea!];
        const curves: Record<string, number[]> = {};
        for (const kind of KINDS) {
          const order = rankPixels(maps[d][kind], 1);
          for (const fill of FILLS) {
            const values = fillValues(fill, manifest.input.mean, manifest.input.scale);
            for (const mode of MODES) {
              const perturbed = RATIOS.map((r) => perturb(probe, 3, order, r, values, mode));
              curves[`${kind}/${fill}/${mode}`] = (await embed(perturbed)).map((e) => cosine(e, otherEmb));
            }
          }
        }
        const record: PairRecord = {
          key,
          pair: index,
          a: relative(REPO_ROOT, pair.a),
          b: relative(REPO_ROOT, pair.b),
          same: pair.same,
          direction: d,
          method,
          baseline: cosine(d === 'ab' ? ea! : eb!, otherEmb),
          mapSeconds,
          curves,
        };
        appendFileSync(log, `${JSON.stringify(record)}\n`);
        done.set(key, record);
      }
    }
    bar?.update(n + 1, { method: '' });
  }
  bar?.stop();
  return summarise(
    [...done.values()].filter((r) => opts.methods.includes(r.method) && sample.some((s) => s.index === r.pair)),
    θ,
    opts,
    config,
    sample.length,
  );
}

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
  for (const method of opts.methods) {
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
    probes: records.length / Math.max(1, opts.methods.length),
    secondsPerProbe: seconds,
    corrrise: CORRRISE_DEFAULTS,
    smooth: SMOOTH_DEFAULTS,
    rows,
  };
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
  writeFileSync(join(opts.out, 'summary.md'), `${generatedBy('npm run eval')}\n\n${md}\n`);
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
