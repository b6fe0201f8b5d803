/**
 * @module api/schemas
 * Request and response schemas (zod), which both validate requests and generate the
 * OpenAPI document.
 */
import { z } from '@hono/zod-openapi';
import { DEFAULT_EXPLANATION, EXPLAIN_METHODS } from '../engine/explanation.js';
import { INPUT_KINDS } from '../engine/inputs.js';
import { MAP_IMAGES, MAP_KINDS, MAP_SELECTORS } from '../xfv/maps.js';

export const ImageJson = z
  .object({ base64: z.base64().openapi({ description: 'PNG or JPEG bytes, standard base64', example: 'iVBORw0KGgo…' }) })
  .openapi('ImageJson');

const thresholdField = z.number().min(-1).max(1).optional().openapi({
  description: "Decision threshold on the cosine similarity; defaults to the model's calibrated θ (equal-error rate).",
  example: 0.9,
});

const inputField = z.enum(INPUT_KINDS).default('photo').openapi({
  description:
    "photo (default): faces are found, the chosen one aligned onto the model's face chip (EXIF orientation honoured). aligned-crop: the images already are face crops; they are padded to a square and resized.",
});

const Point = z.object({ x: z.number(), y: z.number() }).openapi('Point', { description: 'Pixels in the upright photo' });

const FaceChoice = z.union([z.object({ index: z.number().int().min(0) }), z.object({ point: Point })]).openapi('FaceChoice', {
  description: 'Which face of a photo to verify: its index in `faces`, or a point inside its box. Default: the largest face.',
});

export const VerifyJson = z
  .object({
    a: ImageJson,
    b: ImageJson,
    threshold: thresholdField,
    input: inputField,
    faces: z.object({ a: FaceChoice.optional(), b: FaceChoice.optional() }).optional(),
  })
  .openapi('VerifyJson', {
    example: { a: { base64: 'iVBORw0KGgoAAAANSUhEUg…' }, b: { base64: '/9j/4AAQSkZJRgABAQ…' }, faces: { b: { index: 1 } } },
  });

/** A form field choosing a face: an index (`2`) or a point (`412,230`). */
const faceFormField = (name: string) =>
  z
    .string()
    .regex(/^\s*(\d+|\d+(\.\d+)?\s*,\s*\d+(\.\d+)?)\s*$/, 'an index (e.g. 2) or a point x,y (e.g. 412,230)')
    .transform((v): z.infer<typeof FaceChoice> => {
      const [x, y] = v.split(',').map(Number);
      return y === undefined ? { index: x! } : { point: { x: x!, y } };
    })
    .optional()
    .openapi({
      type: 'string',
      description: `Which face of photo ${name}: an index in its faces or a point x,y inside the face (default: the largest)`,
    });

const fileField = (name: string) =>
  z.instanceof(File).openapi({ type: 'string', format: 'binary', description: `Face image ${name} (PNG or JPEG)` });

export const VerifyForm = z
  .object({
    a: fileField('A'),
    b: fileField('B'),
    threshold: z.coerce.number().min(-1).max(1).optional().openapi({ type: 'number', description: 'As in the JSON form' }),
    input: inputField,
    faceA: faceFormField('A'),
    faceB: faceFormField('B'),
  })
  .openapi('VerifyForm');

/** The face choices of either request form. */
export const faceChoices = (body: {
  faces?: { a?: z.infer<typeof FaceChoice>; b?: z.infer<typeof FaceChoice> } | undefined;
  faceA?: z.infer<typeof FaceChoice> | undefined;
  faceB?: z.infer<typeof FaceChoice> | undefined;
}) => ({
  a: body.faces?.a ?? body.faceA,
  b: body.faces?.b ?? body.faceB,
});

const Similarity = z
  .object({ a: z.number(), b: z.number(), tx: z.number(), ty: z.number() })
  .openapi('Similarity', { description: 'x = a·u − b·v + tx, y = b·u + a·v + ty' });

export const InputReport = z
  .object({
    input: z.enum(INPUT_KINDS),
    width: z.number().int(),
    height: z.number().int(),
    orientation: z.number().int().openapi({ description: 'EXIF orientation the pixels were turned by (1: none)' }),
    scale: z.number().openapi({
      description:
        'Photo pixels per decoded pixel: 1, or above 1 when a photo over the decode limit was scaled down by the image service before decoding. Boxes, key points and chipToPhoto are in photo pixels either way.',
    }),
    faces: z
      .array(
        z.object({
          box: z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() }),
          score: z.number(),
          keyPoints: z
            .array(Point)
            .openapi({ description: 'Image-right eye outer and inner corner, image-left eye outer and inner corner, nose' }),
        }),
      )
      .optional()
      .openapi({
        description:
          'Every face found in the photo, largest first. When a quick detector pass stood (detectorSize 352 or 320), a face under 16 % of the longer side beside them may be missing: ask for it by point or index and the full pass runs.',
      }),
    face: z.number().int().optional().openapi({ description: 'Index in faces of the face verified' }),
    chipToPhoto: Similarity.optional().openapi({
      description: "The aligned chip's pixel (u, v) → photo pixel (x, y): places maps on the photo",
    }),
    detectorSize: z.number().int().optional().openapi({
      description:
        "The detector input side the faces were found at: 352 (the Tiny Face Detector, the first pass) or 320 (the SSD's quick pass), each kept when its faces are confident and at least 16 % of the photo's longer side, or 512 (the SSD's full pass)",
    }),
    warnings: z
      .array(z.string())
      .openapi({ description: 'Why this face may verify poorly (small, turned); the request is answered anyway' }),
  })
  .openapi('InputReport');

export const Timing = z
  .object({
    decodeMs: z.number().openapi({ description: 'Decoding (photos: both stages, and the steps between the nets)' }),
    detectMs: z.number().openapi({ description: 'The face detector (photos)' }),
    landmarksMs: z.number().openapi({ description: 'The 68-point landmark net (photos)' }),
    preprocessMs: z.number(),
    inferenceMs: z.number(),
    totalMs: z.number(),
  })
  .openapi('Timing', {
    description:
      'Server-side time per stage (also in the Server-Timing header). workerd only advances its clock on I/O, so deployed Workers report coarse values.',
  });

export const ModelRef = z.object({ id: z.string(), version: z.string() }).openapi('ModelRef');

export const VerifyResult = z
  .object({
    model: ModelRef,
    similarity: z.number().openapi({ description: 'Cosine similarity of the two raw embeddings (int8 model)' }),
    threshold: z.number(),
    decision: z.enum(['accept', 'reject']).openapi({ description: 'accept when similarity ≥ threshold' }),
    embeddingNorms: z.object({ a: z.number(), b: z.number() }),
    images: z.object({ a: InputReport, b: InputReport }),
    timing: Timing,
  })
  .openapi('VerifyResult', { example: verifyExample() });

export const Problem = z
  .object({
    type: z.string().openapi({ example: '/problems/invalid-request' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export const problemResponses = (codes: number[]) =>
  Object.fromEntries(
    codes.map((code) => [code, { description: `Problem (${code})`, content: { 'application/problem+json': { schema: Problem } } }]),
  );

const explainFields = {
  method: z.enum(EXPLAIN_METHODS).default(DEFAULT_EXPLANATION.method).openapi({
    description:
      'fggb (default: per-image bases, cached), the gradient baselines xssab and gradient, or corrrise (200 seeded random masks per image on the int8 model: pair-specific, nothing cached, seconds; docs/explanations.md)',
  }),
  centre: z.boolean().default(DEFAULT_EXPLANATION.centre).openapi({
    description:
      "Centre embeddings on the model's mean μ (its own θ; decisions stay on the plain cosine). Default true: with smooth, the most faithful cached mode measured (docs/evaluation.md); false = the paper's FGGB",
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

/** An answer of /v1/verify for two photos of one person (from a real call, rounded). */
function verifyExample() {
  const face = (x: number, y: number, w: number) => ({
    box: { x, y, width: w, height: w * 1.2 },
    score: 0.99,
    keyPoints: [
      { x: x + 0.75 * w, y: y + 0.4 * w },
      { x: x + 0.6 * w, y: y + 0.4 * w },
      { x: x + 0.25 * w, y: y + 0.4 * w },
      { x: x + 0.4 * w, y: y + 0.4 * w },
      { x: x + 0.5 * w, y: y + 0.65 * w },
    ],
  });
  const image = (width: number, height: number, x: number, y: number, w: number) => ({
    input: 'photo' as const,
    width,
    height,
    orientation: 1,
    scale: 1,
    faces: [face(x, y, w)],
    face: 0,
    chipToPhoto: { a: w / 90, b: 0.01, tx: x - 0.1 * w, ty: y - 0.05 * w },
    warnings: [],
  });
  return {
    model: { id: 'face-resnet', version: '922175633b1e' },
    similarity: 0.9412,
    threshold: 0.8994,
    decision: 'accept' as const,
    embeddingNorms: { a: 3.91, b: 3.87 },
    images: { a: image(1024, 683, 402, 151, 212), b: image(800, 1000, 260, 310, 280) },
    timing: { decodeMs: 41, detectMs: 160, landmarksMs: 20, preprocessMs: 3, inferenceMs: 38, totalMs: 265 },
  };
}

function explainExample() {
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
