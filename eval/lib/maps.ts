/**
 * @module eval/lib/maps
 * The evaluations' models (the served int8 model and the gradient graph from models/dist,
 * in onnxruntime-node or -web) and every explanation method's maps for a pair of model
 * inputs, computed as the service computes them: FGGB in its modes, the gradient
 * baselines, CorrRISE, a seeded random map and the fixed centre prior.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { corrRiseMaps } from '../../src/engine/corrrise.js';
import { embedBatch, type OrtModule, type OrtSession } from '../../src/engine/embed.js';
import { type BasisCache, type ExplainMethod, explainOptionsFor, explainPair } from '../../src/engine/explain-pair.js';
import { gradientRunner, gradientShape } from '../../src/engine/gradient.js';
import { bytesBasisCache } from '../../src/store/basis.js';
import { randomMap } from '../../src/xfv/baselines.js';
import { CORRRISE_DEFAULTS, type CorrRiseOptions, corrRiseMasks, corrRiseVariant } from '../../src/xfv/corrrise.js';
import { displayMap } from '../../src/xfv/display.js';
import { fillValues } from '../../src/xfv/faithfulness.js';
import type { ModelManifest } from '../../src/xfv/manifest.js';
import { centrePrior } from '../../src/xfv/pointing.js';
import { SMOOTH_DEFAULTS } from '../../src/xfv/smooth.js';
import { REPO_ROOT } from './faces.js';
import { distGradient, nodeSession, ortNode, ortWeb, webSession } from './ort.js';

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
  'corrrise-128',
  'centre-prior',
] as const;
/**
 * The named methods, and CorrRISE in any configuration: `corrrise@<masks>x<patches>p<patch side>`
 * (corrrise is corrrise@200x4p30, corrrise-128 corrrise@128x4p30).
 */
export type EvalMethod = (typeof ALL_METHODS)[number] | `corrrise@${number}x${number}p${number}`;

const CORRRISE_CONFIG = /^corrrise@(\d+)x(\d+)p(\d+)$/;

/** A CorrRISE method's mask set, or undefined for other methods. */
export function corrRiseConfig(method: string): CorrRiseOptions | undefined {
  if (method === 'corrrise') return CORRRISE_DEFAULTS;
  if (method === 'corrrise-128') return { ...CORRRISE_DEFAULTS, masks: 128 };
  const m = CORRRISE_CONFIG.exec(method);
  return m ? { ...CORRRISE_DEFAULTS, masks: Number(m[1]), patches: Number(m[2]), patchSize: Number(m[3]) } : undefined;
}

/** Pair-independent methods: the same map whatever the pair (centre-prior) or none of it (random). */
export const PAIR_INDEPENDENT: readonly EvalMethod[] = ['random', 'centre-prior'];

export const MAP_KINDS = ['similarity', 'dissimilarity'] as const;
export type KindMaps = Record<(typeof MAP_KINDS)[number], Float32Array>;

/** The methods named in a comma-separated list, refusing unknown ones. */
export function parseMethods(list: string): EvalMethod[] {
  const methods = list.split(',').map((m) => m.trim()) as EvalMethod[];
  const unknown = methods.filter((m) => !(ALL_METHODS as readonly string[]).includes(m) && !CORRRISE_CONFIG.test(m));
  if (unknown.length) throw new Error(`unknown method(s) ${unknown.join(', ')}; choose from ${ALL_METHODS.join(', ')}`);
  return methods;
}

export interface EvalModels {
  manifest: ModelManifest;
  size: number;
  /** The served int8 model's raw embeddings, in batches. */
  embed(xs: Float32Array[]): Promise<Float32Array[]>;
  /** Each method's maps of both images of a pair (a probe is b against a, and a against b). */
  maps(method: EvalMethod, pair: [PairImage, PairImage], seed: number): Promise<[KindMaps, KindMaps]>;
}

export interface PairImage {
  x: Float32Array;
  /** Names the image's bases in the disk cache (with the mode). */
  key: string;
  /** Its int8 embedding. */
  embedding: Float32Array;
}

/** A basis cache on disk (float16), shared by runs that name the same images. */
export function diskBasisCache(dir: string): BasisCache {
  mkdirSync(dir, { recursive: true });
  const path = (key: string) => join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 24)}.basis`);
  return bytesBasisCache(
    (key) => (existsSync(path(key)) ? new Uint8Array(readFileSync(path(key))) : undefined),
    (key, bytes) => writeFileSync(path(key), bytes),
  );
}

export async function loadEvalModels(runtime: 'node' | 'web', basesDir: string): Promise<EvalModels> {
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'models', 'dist', 'manifest.json'), 'utf8')) as ModelManifest;
  const dist = (f: string) => readFileSync(join(REPO_ROOT, 'models', 'dist', f));
  const ort = (runtime === 'node' ? ortNode : ortWeb) as unknown as OrtModule;
  const session = (bytes: Uint8Array, options = {}) =>
    (runtime === 'node' ? nodeSession(bytes, options) : webSession(bytes, options)) as Promise<OrtSession>;
  const int8 = await session(dist(manifest.files.int8.path));
  const gradient = distGradient(join(REPO_ROOT, 'models', 'dist'));
  const runner = gradientRunner(ort, await session(gradient.graph, gradient.options), gradientShape(manifest));
  const size = manifest.input.size;
  const cache = diskBasisCache(basesDir);
  const gray = fillValues('gray', manifest.input.mean, manifest.input.scale);
  const masks = new Map<string, Uint8Array[]>();
  const embed = async (xs: Float32Array[]) => {
    const out: Float32Array[] = [];
    for (let i = 0; i < xs.length; i += 11) out.push(...(await embedBatch(ort, int8, xs.slice(i, i + 11), size)));
    return out;
  };

  async function maps(method: EvalMethod, [a, b]: [PairImage, PairImage], seed: number): Promise<[KindMaps, KindMaps]> {
    const pixels = size * size;
    if (method === 'random') {
      const [ra, rb] = [randomMap(pixels, seed * 2 + 1), randomMap(pixels, seed * 2 + 2)];
      return [
        { similarity: ra, dissimilarity: ra },
        { similarity: rb, dissimilarity: rb },
      ];
    }
    if (method === 'centre-prior') {
      const prior = centrePrior(size);
      return [
        { similarity: prior, dissimilarity: prior },
        { similarity: prior, dissimilarity: prior },
      ];
    }
    const corrRise = corrRiseConfig(method);
    if (corrRise) {
      const variant = corrRiseVariant(corrRise);
      if (!masks.has(variant)) masks.set(variant, corrRiseMasks(size, corrRise));
      const m = masks.get(variant)!;
      // The API's own CorrRISE (engine/corrrise), on the same int8 embeddings.
      return [
        await corrRiseMaps(embed, a.x, b.embedding, m, { size, fill: gray, batch: 40 }),
        await corrRiseMaps(embed, b.x, a.embedding, m, { size, fill: gray, batch: 40 }),
      ];
    }
    const base: ExplainMethod = method.startsWith('fggb') ? 'fggb' : (method as ExplainMethod);
    const centre = method.startsWith('fggb-centred');
    const smooth = method.endsWith('-smooth') ? SMOOTH_DEFAULTS : undefined;
    const variant = `${centre}${smooth ? ':smooth' : ''}`;
    const expl = await explainPair(
      runner,
      [
        { x: a.x, basisKey: `${a.key}:${variant}` },
        { x: b.x, basisKey: `${b.key}:${variant}` },
      ],
      explainOptionsFor(manifest, { method: base, centre, smooth, dtype: 'f16', cache, store: true }),
    );
    const shown = (m: Float32Array) => (method === 'fggb-raw' ? m : displayMap(m, size, size));
    return [expl.a.maps, expl.b.maps].map((m) => ({ similarity: shown(m.similarity), dissimilarity: shown(m.dissimilarity) })) as [
      KindMaps,
      KindMaps,
    ];
  }

  return { manifest, size, embed, maps };
}
