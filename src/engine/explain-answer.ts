/**
 * @module engine/explain-answer
 * An explanation's answer, as /v1/explain gives it and a job keeps it: the verify fields,
 * how it was explained, and the maps as signed links under /v1/maps (a stored result) or
 * rendered and inlined as data: URIs (nothing stored), with FGGB's θ-free parts P and Q.
 */
import { signUrl } from '../accounts/signed-urls.js';
import { AFFINE_MAPS } from '../store/results.js';
import { MAP_SELECTORS, type MapSelector, parseSelector } from '../xfv/maps.js';
import { MAP_FORMATS, type MapFiles, artifactPath, mapFiles, renderArtifacts } from './artifacts.js';
import { type ExplainOutcome, affineParts, explanationFields } from './explain-images.js';

/** bytes as standard base64, for data: URIs. */
function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
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
    /** How long map links live (the deployment's MAP_URL_TTL_SECONDS). */
    linkTtlSeconds: number;
  },
) {
  const { explanation: expl } = outcome;
  const wanted = opts.wanted ?? MAP_SELECTORS;
  const tr = performance.now();
  const maps = outcome.stored
    ? await mapLinks(new URL(opts.origin), outcome, wanted, (url) =>
        signUrl(opts.secret, url, opts.tenantId, linkExpiry(opts.linkTtlSeconds)),
      )
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
      ? await affineLinks(new URL(opts.origin), outcome, (url) => signUrl(opts.secret, url, opts.tenantId, linkExpiry(opts.linkTtlSeconds)))
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

/** A link's expiry, `ttlSeconds` from now rounded up to the hour so links stay cacheable. */
function linkExpiry(ttlSeconds: number): number {
  return Math.ceil((Date.now() / 1000 + ttlSeconds) / 3600) * 3600;
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
