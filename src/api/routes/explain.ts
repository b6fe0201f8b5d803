/**
 * @module api/routes/explain
 * `POST /v1/explain`: everything /v1/verify answers, plus FGGB (or baseline) similarity and
 * dissimilarity maps for both images, through the engine's explain pipeline. A stored
 * result is linked under /v1/maps (its PNGs and sidecars are rendered there on first
 * request); with `store: false` the maps are inlined as data: URIs and nothing is kept.
 */
import { createRoute } from '@hono/zod-openapi';
import { explanationUnits } from '../../accounts/prices.js';
import { explainBody } from '../../engine/explain-answer.js';
import { explainImages } from '../../engine/explain-images.js';
import { ProblemError } from '../../problems/problem.js';
import { r2TenantStores } from '../../store/tenant.js';
import { gradientWorkFreeingImageSlot } from '../../worker/admission.js';
import { occlusionBuilds } from '../../worker/occlusion-builds.js';
import { mapLinkTtlSeconds, urlSigningSecret } from '../../worker/vars.js';
import { modelRef } from '../../xfv/manifest.js';
import { apiKey, bearerAuth } from '../middleware/api-key.js';
import { imageSlot } from '../middleware/image-slot.js';
import { multipartOnce } from '../middleware/multipart-once.js';
import { problemResponses } from '../problem-response.js';
import { bodyMediaType, serverTiming } from '../request-body.js';
import { pairSources } from '../request-images.js';
import { newRouter } from '../router.js';
import { ExplainForm, ExplainJson, ExplainResult } from './explain.schemas.js';
import { faceChoices } from './verify.schemas.js';

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
    ...problemResponses([400, 401, 402, 403, 409, 413, 415, 422, 429, 503]),
  },
  security: bearerAuth,
  middleware: [...apiKey('explain', 'explain'), imageSlot, multipartOnce],
});

export const explainRouter = newRouter().openapi(explainRoute, async (c) => {
  const body = bodyMediaType(c) === 'json' ? c.req.valid('json') : c.req.valid('form');
  const limits = c.get('limits');
  const engine = await c.get('engine')();
  const { manifest } = engine;
  if (!manifest.gradient) throw new ProblemError('model-unavailable', 'the served model has no gradient graph');
  const { method, centre, smooth, store, threshold } = body;
  const caller = c.get('caller')!;
  const secret = store ? urlSigningSecret(c.env) : '';
  const outcome = await explainImages(
    engine,
    { ...pairSources(body, limits), threshold, method, centre, smooth, store, input: body.input, faces: faceChoices(body) },
    {
      limits,
      stores: r2TenantStores(c.env.DATA, caller.tenantId, modelRef(manifest), manifest.output.size),
      gradientWork: gradientWorkFreeingImageSlot(c.env, c.get('releaseImageSlot')),
      buildOcclusions: occlusionBuilds(c.env, c.get('releaseImageSlot')),
    },
  );
  const { explanation: expl } = outcome;
  c.set('billedUnits', explanationUnits(expl.method, [expl.a.basis, expl.b.basis]));
  const body_ = await explainBody(outcome, {
    origin: new URL(c.req.url).origin,
    tenantId: caller.tenantId,
    centre,
    wanted: body.maps,
    secret,
    linkTtlSeconds: mapLinkTtlSeconds(c.env),
  });
  c.header('Server-Timing', serverTiming(body_.timing));
  const response = c.json(body_, 200);
  // Answered and stored: hand this request's larger buffers back now instead of leaving
  // them to a GC (concurrent requests would pile them up; docs/explanations.md, Memory).
  outcome.release();
  return response;
});
