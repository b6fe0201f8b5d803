/**
 * @module api/routes/verify.schemas
 * The schemas of /v1/verify (zod: they validate requests and make the OpenAPI document):
 * the two images, as multipart files or base64 JSON, the face choices, and the answer with
 * what was done to each image. /v1/explain and /v1/jobs extend them.
 */
import { z } from '@hono/zod-openapi';
import { INPUT_KINDS } from '../../engine/inputs.js';

export const ImageJson = z
  .object({ base64: z.base64().openapi({ description: 'PNG or JPEG bytes, standard base64', example: 'iVBORw0KGgo…' }) })
  .openapi('ImageJson');

export const thresholdField = z.number().min(-1).max(1).optional().openapi({
  description: "Decision threshold on the cosine similarity; defaults to the model's calibrated θ (equal-error rate).",
  example: 0.9,
});

export const inputField = z.enum(INPUT_KINDS).default('photo').openapi({
  description:
    "photo (default): faces are found, the chosen one aligned onto the model's face chip (EXIF orientation honoured). aligned-crop: the images already are face crops; they are padded to a square and resized.",
});

const Point = z.object({ x: z.number(), y: z.number() }).openapi('Point', { description: 'Pixels in the upright photo' });

export const FaceChoice = z.union([z.object({ index: z.number().int().min(0) }), z.object({ point: Point })]).openapi('FaceChoice', {
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

/** An answer of /v1/verify for two photos of one person (from a real call, rounded). */
export function verifyExample() {
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
