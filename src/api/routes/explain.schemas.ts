/**
 * @module api/routes/explain.schemas
 * The schemas of /v1/explain: /v1/verify's request plus the explanation's options, and
 * its answer with the maps' links and FGGB's θ-free parts.
 */
import { z } from '@hono/zod-openapi';
import { DEFAULT_EXPLANATION, EXPLAIN_METHODS } from '../../engine/explain-pair.js';
import { MAP_IMAGES, MAP_KINDS, MAP_SELECTORS } from '../../xfv/maps.js';
import { VerifyForm, VerifyJson, VerifyResult, Timing, verifyExample } from './verify.schemas.js';

export const explainFields = {
  method: z.enum(EXPLAIN_METHODS).default(DEFAULT_EXPLANATION.method).openapi({
    description:
      'fggb (default: per-image bases, cached), the gradient baselines xssab and gradient, or corrrise (200 seeded random masks per image on the int8 model: pair-specific, nothing cached, seconds; docs/explanations.md)',
  }),
  centre: z.boolean().default(DEFAULT_EXPLANATION.centre).openapi({
    description:
      "Centre embeddings on the model's mean μ (its own θ; decisions stay on the plain cosine). Default true: with smooth, the served default (docs/evaluation.md, the served default); false = the paper's FGGB",
  }),
  smooth: z.boolean().default(DEFAULT_EXPLANATION.smooth).openapi({
    description:
      "fggb: smoothed bases, each averaged over 4 noisy copies of the image (4× the time of a new basis, then cached like the others). Default true; false = the paper's bases",
  }),
  maps: z
    .array(z.enum(MAP_SELECTORS))
    .min(1)
    .default([...MAP_SELECTORS])
    .openapi({ description: 'Which maps to produce' }),
  store: z
    .boolean()
    .default(true)
    .openapi({ description: 'false: keep nothing (no bases, no maps) after the response; maps come back inline as data: URIs' }),
};

export const ExplainJson = VerifyJson.extend(explainFields).openapi('ExplainJson');

export const ExplainForm = VerifyForm.extend({
  method: explainFields.method,
  centre: z.stringbool().default(DEFAULT_EXPLANATION.centre).openapi({ type: 'boolean', description: explainFields.centre.description }),
  smooth: z.stringbool().default(DEFAULT_EXPLANATION.smooth).openapi({ type: 'boolean', description: explainFields.smooth.description }),
  maps: z
    .string()
    .transform((v) => v.split(',').map((s) => s.trim()))
    .pipe(z.array(z.enum(MAP_SELECTORS)).min(1))
    .optional()
    .openapi({ type: 'string', description: 'Comma-separated, e.g. a.similarity,b.dissimilarity (default all four)' }),
  store: z.stringbool().default(true).openapi({ type: 'boolean', description: explainFields.store.description }),
}).openapi('ExplainForm');

const MapLinks = z
  .object({
    png: z.string(),
    'overlay.png': z.string(),
    f32: z.string(),
    json: z.string(),
    'photo-overlay.png': z
      .string()
      .optional()
      .openapi({ description: 'Photo inputs: the map laid on the photo (scaled to at most 512 px)' }),
  })
  .openapi('MapLinks', { description: 'URLs under /v1/maps/… (or data: URIs when store is false)' });

const AffinePair = z.object({
  p: z.string().openapi({ description: 'P = Σ_k f̂_A[k] f̂_B[k] Ĝ_k: a URL (or data: URI) of float32 values' }),
  q: z.string().openapi({ description: 'Q = Σ_k Ĝ_k: a URL (or data: URI) of float32 values' }),
});

const AffineLinks = z
  .object({
    channels: z.number().int().openapi({ description: 'N, the embedding size', example: 128 }),
    a: AffinePair,
    b: AffinePair,
  })
  .openapi('AffineMaps');

const MapEvidence = z
  .object({
    deletion: z
      .object({ maps: z.number(), meanOfOthers: z.number(), centrePrior: z.number(), random: z.number(), margin: z.number() })
      .openapi({
        description:
          "Deletion AUC (gray fill) of the method's maps, of its own mean map over the other pairs, of a centre prior and of random: accuracy on accepted genuine probes for similarity maps (lower is better), the mean cosine on rejected impostors for dissimilarity maps (higher is better). margin > 0: the maps beat both pair-independent answers.",
      }),
    transplant: z.object({ pointingAuc: z.number(), before: z.number(), meanOfOthers: z.number(), margin: z.number() }).openapi({
      description:
        "A region planted as the cause: the chance that a pixel inside it outranks one outside in the method's map (0.5 is chance), the same for the probe's map before the planting and the method's mean map, and the margin over the larger of those two.",
    }),
    explainsPair: z.boolean(),
  })
  .openapi('MapEvidence');

export const MapVerdict = z
  .object({
    verdict: z.enum(['explains-pair', 'not-shown-to-explain-pair', 'not-measured']).openapi({
      description:
        "explains-pair: on the development photos this method's maps of this kind beat every pair-independent answer on Deletion and pointed at a planted cause (AUC ≥ 0.8, ≥ 0.15 above the pair-independent answers). not-shown-to-explain-pair: they did not; read them as where the model looks on faces in general. not-measured: this mode was not evaluated.",
    }),
    evidence: z.union([MapEvidence, z.null()]),
    measuredOn: z.string().nullable(),
  })
  .openapi('MapVerdict', {
    description: "How this method's maps of one kind did against maps that cannot explain a pair (docs/evaluation.md)",
  });

export const ExplainResult = VerifyResult.extend({
  resultId: z.string().openapi({ description: 'Content address of this explanation (same inputs and options → same id)' }),
  explanation: z.object({
    method: z.enum(EXPLAIN_METHODS),
    centre: z.boolean(),
    smooth: z.boolean().openapi({ description: 'Whether the FGGB bases were smoothed' }),
    threshold: z.number().openapi({
      description:
        "θ_expl in the FGGB weights w_k = f̂_A[k]f̂_B[k] − θ_expl/N: the mode's calibrated θ on its fp32 cosine, moved as far as the request's threshold moves from the served one (θ_expl − threshold is the same for every threshold)",
    }),
    cosine: z.number().openapi({ description: 'Cosine of the fp32 f̂ the explanation decomposes (Σ_k w_k = cosine − θ)' }),
    summary: z
      .object({
        positiveShare: z.number(),
        negativeShare: z.number(),
        margin: z.number(),
        topChannels: z.array(z.object({ channel: z.number().int(), weight: z.number() })),
      })
      .nullable(),
    images: z.object({ a: z.string(), b: z.string() }).openapi({
      description:
        "Each image's id: the SHA-256 of the face as the model saw it, under which its basis and embedding are cached. `DELETE /v1/images/{id}` forgets them.",
      example: {
        a: '8c2ae30d1994435cf970e5cc633d2f4352713a33fd7a8ce2cc7c2c6377ddd33a',
        b: '92b3d05c69a0c762640dfc94a062319be0a4846e1d40b4cc23b7e47666ec94a7',
      },
    }),
    faithfulness: z.object({ similarity: MapVerdict, dissimilarity: MapVerdict }).openapi({
      description:
        'Per map kind, whether the method that made these maps was measured to explain the pair it is given, with the figures: a map labelled not-shown-to-explain-pair is not an explanation of this pair.',
    }),
    basis: z
      .object({ a: z.enum(['hit', 'miss', 'none']), b: z.enum(['hit', 'miss', 'none']) })
      .openapi({ description: 'Per-image basis cache: hit (read from R2), miss (computed), none (method needs no basis)' }),
  }),
  maps: z
    .partialRecord(z.enum(MAP_IMAGES), z.partialRecord(z.enum(MAP_KINDS), MapLinks))
    .openapi({ description: 'The wanted maps, by image and kind' }),
  // A union with null, not .nullable(): a named schema's .nullable() loses its null in the document.
  affine: z.union([AffineLinks, z.null()]).openapi({
    description:
      'FGGB only (null otherwise): per image, raw float32 maps P and Q (H×W, little-endian) with S(θ) = P − (θ/N)·Q; similarity = max(S, 0), dissimilarity = max(−S, 0). A client redraws both maps for any θ without a call (docs/api.md, "Any threshold").',
  }),
  timing: Timing.extend({ embeddingMs: z.number(), basisMs: z.number(), combineMs: z.number(), renderMs: z.number(), storeMs: z.number() }),
}).openapi('ExplainResult', { example: explainExample() });

export function explainExample() {
  const base = 'https://xfv.example.com/v1/maps/3f2a9c0d5e7b41a6b8c2d4e6f8a0b1c3';
  const signed = '?tenant=acme&expires=1767225600&signature=q1w2e3…';
  const links = (image: string, kind: string) => ({
    png: `${base}/${image}/${kind}.png${signed}`,
    'overlay.png': `${base}/${image}/${kind}.overlay.png${signed}`,
    f32: `${base}/${image}/${kind}.f32${signed}`,
    json: `${base}/${image}/${kind}.json${signed}`,
    'photo-overlay.png': `${base}/${image}/${kind}.photo-overlay.png${signed}`,
  });
  const verify = verifyExample();
  return {
    ...verify,
    resultId: '3f2a9c0d5e7b41a6b8c2d4e6f8a0b1c3',
    explanation: {
      method: 'fggb' as const,
      centre: true,
      smooth: true,
      threshold: 0.2484,
      cosine: 0.6021,
      summary: { positiveShare: 0.81, negativeShare: 0.19, margin: 0.3537, topChannels: [{ channel: 17, weight: 0.021 }] },
      images: {
        a: '8c2ae30d1994435cf970e5cc633d2f4352713a33fd7a8ce2cc7c2c6377ddd33a',
        b: '92b3d05c69a0c762640dfc94a062319be0a4846e1d40b4cc23b7e47666ec94a7',
      },
      faithfulness: {
        similarity: {
          verdict: 'not-shown-to-explain-pair' as const,
          evidence: {
            deletion: { maps: 24.2, meanOfOthers: 21.1, centrePrior: 33.3, random: 66.4, margin: -3.1 },
            transplant: { pointingAuc: 0.673, before: 0.553, meanOfOthers: 0.654, margin: 0.019 },
            explainsPair: false,
          },
          measuredOn: 'development photos: 32 pairs with controls, 48 region transplants',
        },
        dissimilarity: {
          verdict: 'not-shown-to-explain-pair' as const,
          evidence: {
            deletion: { maps: 85.9, meanOfOthers: 85.9, centrePrior: 86.1, random: 85, margin: -0.2 },
            transplant: { pointingAuc: 0.532, before: 0.5, meanOfOthers: 0.5, margin: 0.032 },
            explainsPair: false,
          },
          measuredOn: 'development photos: 32 pairs with controls, 48 region transplants',
        },
      },
      basis: { a: 'hit' as const, b: 'miss' as const },
    },
    maps: {
      a: { similarity: links('a', 'similarity'), dissimilarity: links('a', 'dissimilarity') },
      b: { similarity: links('b', 'similarity'), dissimilarity: links('b', 'dissimilarity') },
    },
    affine: {
      channels: 128,
      a: { p: `${base}/a/p.f32${signed}`, q: `${base}/a/q.f32${signed}` },
      b: { p: `${base}/b/p.f32${signed}`, q: `${base}/b/q.f32${signed}` },
    },
    timing: { ...verify.timing, embeddingMs: 0, basisMs: 24100, combineMs: 9, renderMs: 0, storeMs: 12, totalMs: 24420 },
  };
}
