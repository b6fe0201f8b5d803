/**
 * @module api/explain
 * `POST /v1/explain`: everything /v1/verify answers, plus FGGB (or baseline) similarity and
 * dissimilarity maps for both images, through the engine's explain pipeline. A stored
 * result is linked under /v1/maps (its PNGs and sidecars are rendered there on first
 * request); with `store: false` the maps are inlined as data: URIs and nothing is kept.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { MAP_FORMATS, type MapFiles, artifactPath, mapFiles, renderArtifacts } from '../engine/artifacts.js';
import { type ExplainOutcome, affineParts, explainImages, explanationFields } from '../engine/explain.js';
import { AFFINE_MAPS } from '../store/results.js';
import { explanationUnits } from '../accounts/prices.js';
import { signUrl } from '../accounts/signed-urls.js';
import { urlSigningSecret } from './auth.js';
import { r2TenantStores } from '../store/tenant.js';
import { modelRef } from '../xfv/manifest.js';
import { MAP_SELECTORS, type MapSelector, parseSelector } from '../xfv/maps.js';
import { gradientWorkFreeingImageSlot } from './admission.js';
import { bodyMediaType, serverTiming } from './body.js';
import { toBase64 } from './encoding.js';
import { intVar } from './vars.js';
import { pairSources } from './images.js';
import { ProblemError } from './problem.js';
import { ExplainForm, ExplainJson, ExplainResult, faceChoices, problemResponses } from './schemas.js';
import type { AppEnv } from './types.js';

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
  security: [{ bearerAuth: [] }],
});

export function registerExplain(app: OpenAPIHono<AppEnv>) {
  app.openapi(explainRoute, async (c) => {
    const body = bodyMediaType(c) === 'json' ? c.req.valid('json') : c.req.valid('form');
    const limits = c.get('limits');
    const engine = await c.get('engine')();
    const { manifest } = engine;
    if (!manifest.gradient) throw new ProblemError('model-unavailable', 'the served model has no gradient graph');
    const { method, centre, smooth, store, threshold } = body;
    const caller = c.get('caller')!;
    const secret = store ? urlSigningSecret(c) : '';
    const outcome = await explainImages(
      engine,
      { ...pairSources(body, limits), threshold, method, centre, smooth, store, input: body.input, faces: faceChoices(body) },
      {
        limits,
        stores: r2TenantStores(c.env.DATA, caller.tenantId, modelRef(manifest), manifest.output.size),
        gradientWork: gradientWorkFreeingImageSlot(c),
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
      ttlVar: c.env.MAP_URL_TTL_SECONDS,
    });
    c.header('Server-Timing', serverTiming(body_.timing));
    const response = c.json(body_, 200);
    // Answered and stored: hand this request's larger buffers back now instead of leaving
    // them to a GC (concurrent requests would pile them up; docs/explanations.md, Memory).
    outcome.release();
    return response;
  });
}

/**
 * The /v1/explain answer for an outcome (also a job's result): the verify fields, the
 * explanation, and the maps as signed links (stored results) or inlined data: URIs.
 */
export async function explainBody(
  outcome: ExplainOutcome,
  opts: {
    origin: string;
    tenantId: string;
    centre: boolean;
    wanted?: readonly MapSelector[] | undefined;
    secret: string;
    ttlVar?: string | undefined;
  },
) {
  const { explanation: expl } = outcome;
  const wanted = opts.wanted ?? MAP_SELECTORS;
  const tr = performance.now();
  const maps = outcome.stored
    ? await mapLinks(new URL(opts.origin), outcome, wanted, (url) => signUrl(opts.secret, url, opts.tenantId, linkExpiry(opts.ttlVar)))
    : inlineMaps(outcome, wanted);
  const timing = {
    ...outcome.timing,
    renderMs: outcome.stored ? 0 : performance.now() - tr,
    totalMs: outcome.timing.totalMs + (performance.now() - tr),
  };
  return {
    ...outcome.verified.result,
    resultId: outcome.resultId,
    explanation: { ...explanationFields(outcome, opts.centre), basis: { a: expl.a.basis, b: expl.b.basis } },
    maps,
    affine: outcome.stored
      ? await affineLinks(new URL(opts.origin), outcome, (url) => signUrl(opts.secret, url, opts.tenantId, linkExpiry(opts.ttlVar)))
      : inlineAffine(outcome),
    timing,
  };
}

/** FGGB: links to each image's P and Q (`…/{a|b}/{p|q}.f32`) with N; null for other methods. */
async function affineLinks(base: URL, { resultId, explanation }: ExplainOutcome, sign: (url: URL) => Promise<string>) {
  const parts = affineParts(explanation);
  if (!parts) return null;
  const link = (name: string) => sign(new URL(`/v1/maps/${resultId}/${name.replace('.', '/')}.f32`, base));
  const [ap, aq, bp, bq] = await Promise.all(AFFINE_MAPS.map(link));
  return { channels: parts.channels, a: { p: ap!, q: aq! }, b: { p: bp!, q: bq! } };
}

/** As affineLinks, inlined as data: URIs (store: false). */
function inlineAffine({ explanation }: ExplainOutcome) {
  const parts = affineParts(explanation);
  if (!parts) return null;
  const uri = (m: Float32Array) => `data:application/octet-stream;base64,${toBase64(new Uint8Array(m.buffer, m.byteOffset, m.byteLength))}`;
  const { maps } = parts;
  return {
    channels: parts.channels,
    a: { p: uri(maps['a.p']), q: uri(maps['a.q']) },
    b: { p: uri(maps['b.p']), q: uri(maps['b.q']) },
  };
}

/** Map links live this long by default (MAP_URL_TTL_SECONDS); expiries are rounded up to the hour so links stay cacheable. */
export const MAP_URL_TTL_SECONDS = 7 * 24 * 3600;
function linkExpiry(ttlVar: string | undefined): number {
  return Math.ceil((Date.now() / 1000 + intVar(ttlVar, MAP_URL_TTL_SECONDS)) / 3600) * 3600;
}

/** Signed links under /v1/maps/<resultId>/ for the wanted maps of a stored result. */
async function mapLinks(
  base: URL,
  { resultId, photos }: ExplainOutcome,
  wanted: readonly MapSelector[],
  sign: (url: URL) => Promise<string>,
): Promise<MapFiles> {
  const files = wanted.flatMap((selector) => {
    const [image, kind] = parseSelector(selector);
    return MAP_FORMATS.filter((format) => format !== 'photo-overlay.png' || photos[image]).map((format) => ({ image, kind, format }));
  });
  const links = new Map(
    await Promise.all(
      files.map(async (f) => [artifactPath(f), await sign(new URL(`/v1/maps/${resultId}/${artifactPath(f)}`, base))] as const),
    ),
  );
  return mapFiles(files, (file) => links.get(artifactPath(file))!);
}

/** The wanted maps rendered and inlined as data: URIs (nothing is kept). */
function inlineMaps(outcome: ExplainOutcome, wanted: readonly MapSelector[]): MapFiles {
  const { explanation, faces, size, threshold, photos } = outcome;
  const files = renderArtifacts(explanation, [faces.a, faces.b], size, wanted, { centre: outcome.record.centre, threshold, photos });
  return mapFiles(files, (art) => `data:${art.contentType};base64,${toBase64(art.bytes)}`);
}
