/**
 * @module api/explain
 * `POST /v1/explain`: everything /v1/verify answers, plus FGGB (or baseline) similarity and
 * dissimilarity maps for both images. Per-image bases are cached in R2 under a content
 * address; maps are stored under a content-addressed result id and linked, or inlined as
 * data: URIs when `store` is false (then nothing is kept).
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { type MapSelector, artifactPath, renderArtifacts } from './artifacts.js';
import { explainPair } from '../engine/explain.js';
import { inputToRgb } from '../image/index.js';
import { basisKey, r2BasisCache } from '../store/basis-cache.js';
import { DEFAULT_TENANT, tenantPrefix } from '../store/keys.js';
import { sha256OfText, toBase64 } from './encoding.js';
import { r2EmbeddingCache } from '../store/embedding-cache.js';
import { ProblemError } from './problem.js';
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
      },
    );

    const tr = performance.now();
    const resultId = (await sha256OfText(JSON.stringify({ model, method: inputs.method, centre: inputs.centre, threshold, a: shas[0], b: shas[1], maps: wanted }))).slice(0, 32);
    const artifacts = renderArtifacts(expl, [inputToRgb(a.input, spec), inputToRgb(b.input, spec)], spec.size, wanted, { centre: inputs.centre, threshold, resultId });
    const renderMs = performance.now() - tr;

    const ts = performance.now();
    type Links = { png: string; 'overlay.png': string; f32: string; json: string };
    const maps: Record<string, Record<string, Links>> = {};
    const base = new URL(c.req.url);
    await Promise.all(
      artifacts.map(async (art) => {
        const path = artifactPath(art);
        let link: string;
        if (inputs.store) {
          await c.env.DATA.put(`${tenantPrefix(tenant)}results/${resultId}/${path}`, art.bytes, {
            httpMetadata: { contentType: art.contentType },
            customMetadata: { shape: art.shape },
          });
          link = new URL(`/v1/maps/${resultId}/${path}`, base).href;
        } else {
          link = `data:${art.contentType};base64,${toBase64(art.bytes)}`;
        }
        ((maps[art.image] ??= {})[art.kind] ??= {} as Links)[art.format] = link;
      }),
    );
    const storeMs = performance.now() - ts;

    const timing = { ...verified.result.timing, ...expl.timing, renderMs, storeMs, totalMs: performance.now() - t0 };
    c.header('Server-Timing', serverTiming(timing));
    return c.json(
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
  });
}
