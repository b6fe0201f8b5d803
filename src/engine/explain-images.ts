/**
 * @module engine/explain-images
 * The explain pipeline, the one path every caller takes (the route, the CLI, jobs):
 * two encoded images → the verify pipeline → the explanation (FGGB or a baseline, bases
 * from the tenant's cache) → artifacts: a content-addressed result id, the faces as the
 * model saw them, the record, and (with `store`) the result kept in the tenant's result
 * store. Links and inline renderings are the caller's: they depend on where it answers.
 */
import { inputToRgb } from '../image/index.js';
import type { BasisDtype } from '../store/basis.js';
import { sha256Hex } from '../sha256.js';
import type { ResultParts } from '../store/results.js';
import type { TenantStores } from '../store/tenant.js';
import { type FaithfulnessEvidence, inputSpec } from '../xfv/manifest.js';
import { MAP_SELECTORS } from '../xfv/maps.js';
import { releaseBuffer } from '../release.js';
import { type ExplanationRecord, explanationRecord, mapOf } from './artifacts.js';
import { mapVerdicts } from './map-verdicts.js';
import { type CorrRiseImage, corrRiseRequestVariant, explainCorrRise } from './corrrise.js';
import { fillValues } from '../xfv/faithfulness.js';
import type { Engine } from './engine.js';
import { type ExplainImage, type ExplainMethod, type Explanation, basisVariant, explainOptionsFor, explainPair } from './explain-pair.js';
import { SMOOTH_DEFAULTS } from '../xfv/smooth.js';
import { CORRRISE_DEFAULTS, type CorrRiseOptions } from '../xfv/corrrise.js';
import type { PhotoPreview } from './photo-preview.js';
import type { ImageLimits } from './image-decode.js';
import { type Verified, type VerifyRequest, type VerifySettings, verifyPair } from './verify.js';

/** Bases are stored and summed as float16 (docs/explanations.md: `npm run bench:basis-dtype`). */
export const BASIS_DTYPE: BasisDtype = 'f16';

/**
 * How a caller asks for a pair to be explained: the API's request fields (beside the images
 * and the maps wanted; api/routes/explain.schemas holds its schema to these), and a job's
 * stored request (jobs/db).
 */
export interface ExplainSettings extends VerifySettings {
  method: ExplainMethod;
  centre: boolean;
  /** FGGB: smoothed bases (xfv/smooth, SMOOTH_DEFAULTS). */
  smooth?: boolean | undefined;
  /** Keep bases, embeddings and the result (false: keep nothing). */
  store: boolean;
}

export interface ExplainRequest extends ExplainSettings, VerifyRequest {}

export interface ExplainDeps {
  limits: ImageLimits;
  /** The tenant's stores: read for cached bases and embeddings, written when `store`. */
  stores?: TenantStores | undefined;
  /** Wraps gradient-graph work (engine/explain-pair's `gradientWork`): the Worker's admission. */
  gradientWork?: (<T>(task: () => Promise<T>) => Promise<T>) | undefined;
  /**
   * CorrRISE: builds an uncached image's occlusion embeddings into the tenant's store
   * elsewhere (the Worker's builder objects); without it they are computed here.
   */
  buildOcclusions?: ((build: OcclusionBuildRequest) => Promise<void>) | undefined;
}

/** One image's occlusion embeddings to build, and the key they are stored under. */
export interface OcclusionBuildRequest {
  /** The R2 key of the finished object. */
  key: string;
  x: Float32Array;
  size: number;
  fill: number[];
  options: CorrRiseOptions;
  /** Length of one embedding (the object holds masks × this many floats). */
  embeddingSize: number;
}

export interface ExplainOutcome {
  verified: Verified;
  explanation: Explanation;
  /** θ in the explanation's weights. */
  threshold: number;
  /** Content address of everything that determines the maps. */
  resultId: string;
  /** The faces as the model saw them (RGB, size×size). */
  faces: { a: Uint8Array; b: Uint8Array };
  record: ExplanationRecord;
  /** Photo inputs: each photo scaled down, and the chip → photo transform, to lay maps on. */
  photos: Partial<Record<'a' | 'b', PhotoPreview>>;
  size: number;
  /** Whether the result was kept in the tenant's result store. */
  stored: boolean;
  /** The model's measured evidence on its explanation methods (manifest.faithfulness). */
  evidence: FaithfulnessEvidence | undefined;
  timing: Verified['result']['timing'] & Explanation['timing'] & { storeMs: number };
  /** Hand this explanation's larger buffers (~1 MB) back now instead of at the next GC. */
  release(): void;
}

/** FGGB: each image's P and Q as stored with the result (store/results AFFINE_MAPS). */
export function affineParts(expl: Explanation): ResultParts['affine'] {
  const a = expl.a.maps.affine;
  const b = expl.b.maps.affine;
  if (!a || !b) return undefined;
  return { maps: { 'a.p': a.p, 'a.q': a.q, 'b.p': b.p, 'b.q': b.q }, channels: a.channels };
}

/** How an outcome was explained, as every answer states it (API, jobs, CLI). */
export function explanationFields(outcome: ExplainOutcome, centre: boolean) {
  const expl = outcome.explanation;
  return {
    method: expl.method,
    centre,
    smooth: expl.smooth !== undefined,
    threshold: outcome.threshold,
    cosine: expl.cosine,
    summary: expl.summary ?? null,
    // The content address of each image as the model saw it: its cached basis and
    // embedding live under it (DELETE /v1/images/{id} forgets them).
    images: { a: outcome.verified.shas[0], b: outcome.verified.shas[1] },
    // How this method's maps did against answers that cannot explain a pair (engine/map-verdicts).
    faithfulness: mapVerdicts(outcome.evidence, { method: expl.method, centre, smooth: expl.smooth !== undefined }),
  };
}

export async function explainImages(
  engine: Engine,
  request: ExplainRequest,
  { limits, stores, gradientWork, buildOcclusions }: ExplainDeps,
): Promise<ExplainOutcome> {
  const t0 = performance.now();
  const { manifest } = engine;
  const keep = request.store && stores ? stores : undefined;
  const verified = await verifyPair(engine, request, { limits, hashInputs: true, previews: true, embeddings: keep?.embeddings });
  const { centre, method } = request;
  const smooth = method === 'fggb' && request.smooth ? SMOOTH_DEFAULTS : undefined;
  const options = explainOptionsFor(manifest, {
    method,
    centre,
    threshold: request.threshold,
    smooth,
    dtype: BASIS_DTYPE,
    store: request.store,
    cache: keep?.bases,
    gradientWork,
  });
  const { threshold, size } = options;
  const spec = inputSpec(manifest);
  const [a, b] = verified.images;
  const [shaA, shaB] = verified.shas;
  const key = (sha: string) => keep?.basisKey(basisVariant(centre, smooth), sha, BASIS_DTYPE) ?? sha;
  // CorrRISE: each image's occlusion embeddings from the cache, or computed in the gradient work's turn.
  async function corrRise(): Promise<Explanation> {
    const request = { size, fill: fillValues('gray', spec.mean, spec.scale), options: CORRRISE_DEFAULTS };
    const occlusionKey = (sha: string) => keep?.basisKey(corrRiseRequestVariant(request), sha, 'f32');
    const images = [
      { x: a.input, embedding: verified.embeddings[0], cacheKey: occlusionKey(shaA) },
      { x: b.input, embedding: verified.embeddings[1], cacheKey: occlusionKey(shaB) },
    ] as [CorrRiseImage, CorrRiseImage];
    return explainCorrRise((xs) => engine.embed(xs), images, request, {
      cache: keep?.occlusions,
      store: keep !== undefined,
      work: gradientWork,
      build:
        buildOcclusions &&
        ((image) =>
          buildOcclusions({
            key: image.cacheKey!,
            x: image.x,
            size,
            fill: Array.from(request.fill),
            options: request.options,
            embeddingSize: image.embedding.length,
          })),
    });
  }
  const pair: [ExplainImage, ExplainImage] = [
    { x: a.input, basisKey: key(shaA) },
    { x: b.input, basisKey: key(shaB) },
  ];
  const explanation = method === 'corrrise' ? await corrRise() : await explainPair(await engine.gradient(), pair, options);

  const model = verified.result.model;
  const resultId = (
    await sha256Hex(JSON.stringify({ model, method, centre, ...(smooth ? { smooth } : {}), threshold, a: shaA, b: shaB }))
  ).slice(0, 32);
  const faces = { a: inputToRgb(a.input, spec), b: inputToRgb(b.input, spec) };
  const photos = Object.fromEntries(
    (['a', 'b'] as const).flatMap((image, i) => (verified.images[i]!.preview ? [[image, verified.images[i]!.preview!]] : [])),
  ) as ExplainOutcome['photos'];
  const record = explanationRecord(explanation, size, { centre, threshold, resultId, photos });
  const ts = performance.now();
  if (keep) {
    const maps = Object.fromEntries(MAP_SELECTORS.map((m) => [m, mapOf(explanation, m)])) as Record<
      (typeof MAP_SELECTORS)[number],
      Float32Array
    >;
    const kept = Object.fromEntries(Object.entries(photos).map(([image, p]) => [image, p.image]));
    await keep.results.put(resultId, { size, maps, faces, record, photos: kept, affine: affineParts(explanation) });
  }
  const storeMs = keep ? performance.now() - ts : 0;
  return {
    verified,
    explanation,
    threshold,
    resultId,
    faces,
    record,
    photos,
    size,
    stored: keep !== undefined,
    evidence: manifest.faithfulness,
    timing: { ...verified.result.timing, ...explanation.timing, storeMs, totalMs: performance.now() - t0 },
    release() {
      const previews = Object.values(photos).map((p) => p.image.data);
      for (const buffer of [
        a.input,
        b.input,
        faces.a,
        faces.b,
        ...previews,
        ...[explanation.a.maps, explanation.b.maps].flatMap((m) => [m.raw, m.similarity, m.dissimilarity]),
        ...[explanation.a.maps.affine, explanation.b.maps.affine].flatMap((m) => (m ? [m.p, m.q] : [])),
      ])
        releaseBuffer(buffer);
    },
  };
}
