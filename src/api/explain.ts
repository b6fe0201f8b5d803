/**
 * @module api/explain
 * `POST /v1/explain`: everything /v1/verify answers, plus FGGB (or baseline) similarity and
 * dissimilarity maps for both images. Per-image bases are cached in R2 under a content
 * address; maps are stored under a content-addressed result id and linked, or inlined as
 * data: URIs when `store` is false (then nothing is kept). A stored result is one R2 object
 * (store/results); its PNGs and sidecars are rendered by GET /v1/maps on first request.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { type MapFormat, type MapImage, type MapKind, type MapSelector, artifactPath, explanationRecord, renderArtifacts } from './artifacts.js';
import { type Explanation, explainPair } from '../engine/explain.js';
import { inputToRgb } from '../image/index.js';
import { basisKey, r2BasisCache } from '../store/basis-cache.js';
import { DEFAULT_TENANT } from '../store/keys.js';
import { RESULT_MAPS, type ResultMap, encodeResult, resultKey } from '../store/results.js';
import { sha256OfText, toBase64 } from './encoding.js';
import { r2EmbeddingCache } from '../store/embedding-cache.js';
import { ProblemError } from './problem.js';
import { gradientAdmission } from './admission.js';
import { releaseBuffer } from '../release.js';
import { ExplainForm, ExplainJson, ExplainResult, MAP_SELECTORS, problemResponses } from './schemas.js';
import type { AppEnv } from './types.js';
import { bodyInputs, runVerify, serverTiming } from './verify.js';

export const BASIS_DTYPE = 'f16' as const;

export const explainRoute = createRoute({
  method: 'post',
  path: '/v1/explain',
  summary: 'Verify two faces and explain the decision with similarity and dissimilarity maps',
  description:
    "FGGB (Lu, Xu & Ebrahimi): per-image gradient bases of every embedding channel, weighted by the pair's channel agreement. The first explanation of an image computes its basis (seconds); later ones reuse it from R2 (milliseconds).",
  request: {
    body: {
      description: 'Required: as /v1/verify plus method, centre, maps, store.',
      content: {
        'multipart/form-data': { schema: ExplainForm },
        'application/json': { schema: ExplainJson },
      },
    },
  },
  responses: {
    200: { description: 'Decision and maps', content: { 'application/json': { schema: ExplainResult } } },
    ...problemResponses([400, 413, 415, 422, 503]),
  },
});

interface ExplainInputs {
  a: File | { base64: string };
  b: File | { base64: string };
  threshold?: number | undefined;
  method: 'fggb' | 'xssab' | 'gradient';
  centre: boolean;
  maps?: MapSelector[] | undefined;
  store: boolean;
}


const mapOf = (expl: Explanation, name: ResultMap) => {
  const [image, kind] = name.split('.') as [MapImage, MapKind];
  return expl[image].maps[kind];
};

export function registerExplain(app: OpenAPIHono<AppEnv>) {
  app.openapi(explainRoute, async (c) => {
    const t0 = performance.now();
    const inputs = bodyInputs<ExplainInputs>(c);
    const engine = await c.get('engine')();
    const { manifest } = engine;
    const tenant = DEFAULT_TENANT;
    const model = { id: manifest.id, version: manifest.buildKey.slice(0, 12) };
    const verified = await runVerify(c, inputs, c.get('limits'), { hashInputs: true, cache: inputs.store ? r2EmbeddingCache(c.env.DATA, tenant, model) : undefined });
    if (!manifest.gradient) throw new ProblemError('model-unavailable', 'the served model has no gradient graph');
    const runner = await engine.gradient();
    const [a, b] = verified.images;
    const shas = verified.shas;
    const threshold = inputs.centre ? manifest.gradient.centredThresholdFp32 : (inputs.threshold ?? manifest.gradient.thresholdFp32);
    const wanted = inputs.maps ?? [...MAP_SELECTORS];
    const spec = { size: manifest.input.size, mean: manifest.input.mean, scale: manifest.input.scale };

    const expl = await explainPair(
      runner,
      [
        { x: a.input, basisKey: basisKey(tenant, model, inputs.centre, shas[0], BASIS_DTYPE) },
        { x: b.input, basisKey: basisKey(tenant, model, inputs.centre, shas[1], BASIS_DTYPE) },
      ],
      {
        method: inputs.method,
        centre: inputs.centre,
        threshold,
        mean: Float32Array.from(manifest.embeddingMean),
        modelId: manifest.id,
        size: spec.size,
        channels: 3,
        dtype: BASIS_DTYPE,
        store: inputs.store,
        ...(inputs.store ? { cache: r2BasisCache(c.env.DATA, manifest.output.size) } : {}),
        compute: gradientAdmission(c),
      },
    );

    // The id addresses everything that determines the maps; `maps` only selects links.
    const resultId = (await sha256OfText(JSON.stringify({ model, method: inputs.method, centre: inputs.centre, threshold, a: shas[0], b: shas[1] }))).slice(0, 32);
    const faces = { a: inputToRgb(a.input, spec), b: inputToRgb(b.input, spec) };
    type Links = { png: string; 'overlay.png': string; f32: string; json: string };
    const maps: Record<string, Record<string, Links>> = {};
    const tr = performance.now();
    let renderMs = 0;
    if (inputs.store) {
      // One object per result; PNGs and sidecars are rendered when first fetched.
      const record = explanationRecord(expl, spec.size, { centre: inputs.centre, threshold, resultId });
      const body = encodeResult({ size: spec.size, maps: Object.fromEntries(RESULT_MAPS.map((m) => [m, mapOf(expl, m)])) as Record<ResultMap, Float32Array>, faces, record });
      await c.env.DATA.put(resultKey(tenant, resultId), new Blob(body.parts as BlobPart[]), { httpMetadata: { contentType: 'application/x-xfv-result' }, customMetadata: body.customMetadata });
      const base = new URL(c.req.url);
      for (const selector of wanted) {
        const [image, kind] = selector.split('.') as [MapImage, MapKind];
        const link = (format: MapFormat) => new URL(`/v1/maps/${resultId}/${artifactPath({ image, kind, format })}`, base).href;
        (maps[image] ??= {})[kind] = { png: link('png'), 'overlay.png': link('overlay.png'), f32: link('f32'), json: link('json') };
      }
    } else {
      for (const art of renderArtifacts(expl, [faces.a, faces.b], spec.size, wanted, { centre: inputs.centre, threshold })) {
        ((maps[art.image] ??= {})[art.kind] ??= {} as Links)[art.format] = `data:${art.contentType};base64,${toBase64(art.bytes)}`;
      }
      renderMs = performance.now() - tr;
    }
    const storeMs = inputs.store ? performance.now() - tr : 0;

    const timing = { ...verified.result.timing, ...expl.timing, renderMs, storeMs, totalMs: performance.now() - t0 };
    c.header('Server-Timing', serverTiming(timing));
    const response = c.json(
      {
        ...verified.result,
        resultId,
        explanation: {
          method: expl.method,
          centre: inputs.centre,
          threshold,
          cosine: expl.cosine,
          summary: expl.summary ?? null,
          basis: { a: expl.a.basis, b: expl.b.basis },
        },
        maps,
        timing,
      },
      200,
    );
    // Answered and stored: hand this request's larger buffers (~1 MB) back now instead of
    // leaving them to a GC (concurrent requests would pile them up; README "Memory").
    for (const buffer of [a.input, b.input, faces.a, faces.b, ...Object.values(expl.a.maps), ...Object.values(expl.b.maps)]) releaseBuffer(buffer);
    return response;
  });
}
