/**
 * @module eval/transplants
 * `npm run eval:transplants -- [--pairs file.tsv] [--methods …] [--genuine N] [--impostor N]
 *                             [--seed S] [--out dir] [--runtime node|web] [--regions right-eye,nose,…]`
 *
 * Ground truth by construction (docs/evaluation.md, "Does a map explain the pair?"): a
 * 40×40 region (an eye, the nose, the mouth; xfv/pointing chipRegions) is transplanted
 * between aligned faces, so that this region alone is a known cause:
 * - similarity: the reference's region goes into an impostor probe (the region makes the
 *   two faces more alike); the probe's similarity map should point at it;
 * - dissimilarity: another person's region goes into a genuine probe (the region sets the
 *   faces apart); the probe's dissimilarity map should point at it.
 * Each map is scored by its pointing AUC (the chance that a pixel inside the region
 * outranks one outside; 0.5 is chance) and the share of its mass inside the region, beside
 * two pair-independent answers: the same method's map of the probe before the transplant,
 * and its mean map over the other pairs' probes (leave one out). Every image goes through
 * the engine's photo path (faces found and aligned onto dlib's chip, where the regions
 * are), BBT crops included (with a grey border when the detector needs it). Bases are
 * cached on disk under the output's runs/.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import sharp from 'sharp';
import { distEngine } from '../src/cli/dist-engine.js';
import { LOCAL_LIMITS } from '../src/cli/shrink.js';
import { prepareInput } from '../src/engine/inputs.js';
import { chipRegions, massInside, meanOfOthers, pointingAuc, type Region, regionMask, transplant } from '../src/xfv/pointing.js';
import { cosine } from '../src/xfv/verification.js';
import { samplePairs } from './faithfulness.js';
import { REPO_ROOT, loadPairs, PHOTOS_DIR } from './lib/faces.js';
import { type EvalMethod, type EvalModels, loadEvalModels, PAIR_INDEPENDENT, parseMethods } from './lib/maps.js';
import { argGetter, type SampleOptions } from './lib/args.js';
import { generatedBy, markdownTable } from './lib/markdown.js';

export const TRANSPLANT_METHODS: EvalMethod[] = ['fggb', 'fggb-centred-smooth', 'xssab', 'corrrise', 'random', 'centre-prior'];

export interface TransplantOptions extends SampleOptions {
  /** Region names (xfv/pointing chipRegions); default all four. */
  regions?: string[];
}

type Kind = 'similarity' | 'dissimilarity';

/** One transplant: which probe, which region from which donor, and how it moved the cosine. */
interface Case {
  kind: Kind;
  pair: number;
  reference: string;
  probe: string;
  donor: string;
  region: Region;
  cosineBefore: number;
  cosineAfter: number;
}

/** One method's scores on one case. */
interface Score {
  /** The probe's map after the transplant. */
  map: { auc: number; mass: number };
  /** The same method's map of the probe before it. */
  before: { auc: number; mass: number };
  /** The mean of the method's maps of the other pairs' probes (before their transplants). */
  meanOfOthers: { auc: number; mass: number };
}

/** All cases, or those of pairs on even / odd lines of the pairs file (the halves a choice is made and checked on). */
export const TRANSPLANT_SUBSETS = ['all', 'even', 'odd'] as const;

export interface TransplantRow {
  method: string;
  kind: Kind;
  subset: (typeof TRANSPLANT_SUBSETS)[number];
  cases: number;
  auc: number;
  mass: number;
  aucBefore: number;
  aucMeanOfOthers: number;
  /** auc − the larger of the two pair-independent answers. */
  margin: number;
  /** The region's share of the chip: the mass a uniform map would put inside. */
  area: number;
}

const mean = (v: number[]) => (v.length ? v.reduce((s, x) => s + x, 0) / v.length : Number.NaN);

function parseArgs(argv: string[]): TransplantOptions {
  const get = argGetter(argv);
  return {
    pairsFile: resolve(get('pairs') ?? join(PHOTOS_DIR, 'pairs.tsv')),
    methods: parseMethods(get('methods') ?? TRANSPLANT_METHODS.join(',')),
    out: resolve(get('out') ?? join(REPO_ROOT, 'eval', 'results', 'transplants')),
    genuine: Number(get('genuine') ?? 6),
    impostor: Number(get('impostor') ?? 6),
    seed: Number(get('seed') ?? 1),
    runtime: (get('runtime') ?? 'node') as 'node' | 'web',
    regions: get('regions')?.split(','),
  };
}

/**
 * Aligned chips of every image (the engine's photo path). A tight face crop (BBT) in which
 * the detector finds no face is tried again with a grey border of half its side around
 * it, which gives the detector the context it was trained with; images still without a
 * face are left out.
 */
async function alignedInputs(paths: string[]): Promise<Map<string, Float32Array>> {
  const engine = await distEngine();
  const out = new Map<string, Float32Array>();
  const align = async (p: string, bytes: Uint8Array) => (await prepareInput(engine, p, bytes, { limits: LOCAL_LIMITS })).input;
  for (const p of paths) {
    const bytes = new Uint8Array(readFileSync(p));
    try {
      out.set(p, await align(p, bytes));
    } catch {
      try {
        const { width = 0 } = await sharp(bytes).metadata();
        const border = Math.round(width / 2);
        const padded = await sharp(bytes)
          .extend({ top: border, bottom: border, left: border, right: border, background: { r: 128, g: 128, b: 128 } })
          .png()
          .toBuffer();
        out.set(p, await align(p, new Uint8Array(padded)));
      } catch (e) {
        console.error(`transplants: ${relative(REPO_ROOT, p)} left out: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
  return out;
}

export async function runTransplants(opts: TransplantOptions) {
  const { pairs } = loadPairs(opts.pairsFile);
  const sample = samplePairs(pairs, opts.genuine, opts.impostor, opts.seed);
  // A genuine pair's donor: an image the pairs file labels as another person than its probe.
  const donorFor = (probe: string) => {
    const other = pairs.find((p) => !p.same && (p.a === probe || p.b === probe));
    return other && (other.a === probe ? other.b : other.a);
  };
  const needed = new Set(sample.flatMap(({ pair }) => [pair.a, pair.b, ...(pair.same ? [donorFor(pair.b) ?? ''] : [])]));
  needed.delete('');
  const inputs = await alignedInputs([...needed]);
  const runs = join(opts.out, 'runs');
  const models = await loadEvalModels(opts.runtime, join(runs, 'bases'));
  const { size } = models;
  const regions = chipRegions(size).filter((r) => !opts.regions || opts.regions.includes(r.name));
  const embedding = new Map<string, Float32Array>();
  const embed = async (key: string, x: Float32Array) => {
    if (!embedding.has(key)) embedding.set(key, (await models.embed([x]))[0]!);
    return embedding.get(key)!;
  };

  // The cases, with the transplanted inputs.
  const cases: { c: Case; x: Float32Array; key: string }[] = [];
  for (const { pair, index } of sample) {
    const donor = pair.same ? donorFor(pair.b) : pair.a;
    const [ref, probe, from] = [inputs.get(pair.a), inputs.get(pair.b), donor && inputs.get(donor)];
    if (!ref || !probe || !from || !donor) continue;
    const [er, ep] = [await embed(pair.a, ref), await embed(pair.b, probe)];
    for (const region of regions) {
      const x = transplant(probe, from, regionMask(size, region));
      const key = `${pair.b}+${region.name}<${donor}`;
      const c: Case = {
        kind: pair.same ? 'dissimilarity' : 'similarity',
        pair: index,
        reference: pair.a,
        probe: pair.b,
        donor,
        region,
        cosineBefore: cosine(er, ep),
        cosineAfter: cosine(er, await embed(key, x)),
      };
      cases.push({ c, x, key });
    }
  }

  const scores = new Map<string, Score[]>();
  for (const method of opts.methods) {
    // The probe's map before the transplant, per pair (also the pool of the mean of the others).
    const before = new Map<number, Float32Array>();
    const kindOf = new Map<number, Kind>();
    for (const { c } of cases) {
      if (before.has(c.pair)) continue;
      const [, mp] = await probeMaps(
        models,
        method,
        c.reference,
        inputs.get(c.reference)!,
        c.probe,
        inputs.get(c.probe)!,
        embedding,
        c.pair,
      );
      before.set(c.pair, mp[c.kind]);
      kindOf.set(c.pair, c.kind);
    }
    const mine: Score[] = [];
    for (const { c, x, key } of cases) {
      const [, mp] = await probeMaps(models, method, c.reference, inputs.get(c.reference)!, key, x, embedding, c.pair);
      const mask = regionMask(size, c.region);
      const others = [...before.entries()].filter(([p]) => p !== c.pair && kindOf.get(p) === c.kind).map(([, m]) => m);
      const score = (m: Float32Array) => ({ auc: pointingAuc(m, mask), mass: massInside(m, mask) });
      mine.push({ map: score(mp[c.kind]), before: score(before.get(c.pair)!), meanOfOthers: score(meanOfOthers(others, -1)) });
    }
    scores.set(method, mine);
  }
  return summarise(
    cases.map(({ c }) => c),
    scores,
    opts,
    size,
    regions,
  );
}

/** The method's maps of a probe against its reference (the reference's and the probe's). */
async function probeMaps(
  models: EvalModels,
  method: EvalMethod,
  refKey: string,
  ref: Float32Array,
  probeKey: string,
  probe: Float32Array,
  embedding: Map<string, Float32Array>,
  seed: number,
) {
  return models.maps(
    method,
    [
      { x: ref, key: refKey, embedding: embedding.get(refKey)! },
      { x: probe, key: probeKey, embedding: embedding.get(probeKey)! },
    ],
    seed,
  );
}

function summarise(cases: Case[], scores: Map<string, Score[]>, opts: TransplantOptions, size: number, regions: Region[]) {
  const rows: TransplantRow[] = [];
  const inSubset = (c: Case, subset: TransplantRow['subset']) => subset === 'all' || c.pair % 2 === (subset === 'even' ? 0 : 1);
  for (const subset of TRANSPLANT_SUBSETS)
    for (const [method, mine] of scores)
      for (const kind of ['similarity', 'dissimilarity'] as const) {
        const idx = cases.map((c, i) => (c.kind === kind && inSubset(c, subset) ? i : -1)).filter((i) => i >= 0);
        if (!idx.length) continue;
        const pick = (f: (s: Score) => number) => mean(idx.map((i) => f(mine[i]!)));
        const auc = pick((s) => s.map.auc);
        const aucBefore = pick((s) => s.before.auc);
        const aucMeanOfOthers = pick((s) => s.meanOfOthers.auc);
        const independent = PAIR_INDEPENDENT.includes(method as EvalMethod);
        rows.push({
          method,
          kind,
          subset,
          cases: idx.length,
          auc,
          mass: pick((s) => s.map.mass),
          aucBefore,
          aucMeanOfOthers,
          margin: independent ? Number.NaN : auc - Math.max(aucBefore, aucMeanOfOthers),
          area: (regions[0]!.side * regions[0]!.side) / (size * size),
        });
      }
  const moved = (kind: Kind) => cases.filter((c) => c.kind === kind);
  return {
    config: {
      pairsFile: relative(REPO_ROOT, opts.pairsFile),
      genuine: opts.genuine,
      impostor: opts.impostor,
      seed: opts.seed,
      runtime: opts.runtime,
      regions: regions.map((r) => r.name),
    },
    cases: cases.map((c) => ({
      ...c,
      reference: relative(REPO_ROOT, c.reference),
      probe: relative(REPO_ROOT, c.probe),
      donor: relative(REPO_ROOT, c.donor),
      region: c.region.name,
    })),
    cosineShift: {
      similarity: mean(moved('similarity').map((c) => c.cosineAfter - c.cosineBefore)),
      dissimilarity: mean(moved('dissimilarity').map((c) => c.cosineAfter - c.cosineBefore)),
    },
    rows,
  };
}

export function markdownTransplants(summary: Awaited<ReturnType<typeof runTransplants>>): string {
  const f = (v: number) => (Number.isNaN(v) ? '—' : v.toFixed(3));
  const table = markdownTable(
    [
      'method',
      'map',
      'pairs',
      'cases',
      'pointing AUC',
      'mass inside',
      'AUC before the transplant',
      "AUC of the mean of other pairs' maps",
      'margin',
    ],
    summary.rows.map((r) => [
      r.method,
      r.kind,
      r.subset === 'all' ? 'all' : `${r.subset} lines`,
      r.cases,
      f(r.auc),
      f(r.mass),
      f(r.aucBefore),
      f(r.aucMeanOfOthers),
      f(r.margin),
    ]),
  );
  const area = summary.rows[0]?.area ?? 0;
  return [
    table,
    '',
    `_Regions ${summary.config.regions.join(', ')} (${(area * 100).toFixed(1)} % of the chip each: a uniform map puts that much mass inside). The transplants moved the cosine by ${f(summary.cosineShift.similarity)} on average (similarity: the reference's region into an impostor probe) and ${f(summary.cosineShift.dissimilarity)} (dissimilarity: another person's region into a genuine probe). Margin: pointing AUC − the larger of the two pair-independent answers. ${summary.config.genuine} genuine + ${summary.config.impostor} impostor pairs of \`${summary.config.pairsFile}\`, seed ${summary.config.seed}. Reproduce: \`npm run eval:transplants\`._`,
  ].join('\n');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const summary = await runTransplants(opts);
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(join(opts.out, 'transplants.json'), `${JSON.stringify(summary, null, 1)}\n`);
  const md = markdownTransplants(summary);
  writeFileSync(join(opts.out, 'transplants.md'), `${generatedBy('npm run eval:transplants')}\n\n${md}\n`);
  console.log(
    `\n${md}\n\n${((performance.now() - t0) / 60000).toFixed(1)} min; wrote ${relative(process.cwd(), join(opts.out, 'transplants.md'))}`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main().catch((e: unknown) => {
    console.error(`eval:transplants: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
