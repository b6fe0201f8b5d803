/**
 * @module api/routes/verify
 * `POST /v1/verify`: two face images in, cosine similarity and accept/reject out (the
 * engine's verify pipeline).
 */
import { createRoute } from '@hono/zod-openapi';
import { verifyPair } from '../../engine/verify.js';
import { apiKey, bearerAuth } from '../middleware/api-key.js';
import { imageSlot } from '../middleware/image-slot.js';
import { multipartOnce } from '../middleware/multipart-once.js';
import { problemResponses } from '../problem-response.js';
import { bodyMediaType, serverTiming } from '../request-body.js';
import { pairSources } from '../request-images.js';
import { newRouter } from '../router.js';
import { VerifyForm, VerifyJson, VerifyResult, faceChoices } from './verify.schemas.js';

export const verifyRoute = createRoute({
  method: 'post',
  path: '/v1/verify',
  summary: 'Decide whether two face images show the same person',
  description:
    "Images are photos (PNG or JPEG): the faces are found, the largest (or the chosen one) aligned onto the model's face chip; with input aligned-crop they are face crops, padded to a square and resized. The decision uses the int8 model and its calibrated threshold.",
  request: {
    // Not `required: true`: zod-openapi would then run both media types' validators on
    // every request. The content type is checked by bodyMediaType instead.
    body: {
      description: 'Required: two images as multipart/form-data fields or base64 JSON.',
      content: {
        'multipart/form-data': { schema: VerifyForm },
        'application/json': { schema: VerifyJson },
      },
    },
  },
  responses: {
    200: { description: 'Similarity and decision', content: { 'application/json': { schema: VerifyResult } } },
    ...problemResponses([400, 401, 402, 403, 409, 413, 415, 422, 429, 503]),
  },
  security: bearerAuth,
  // The key, then the account (rate limit, credit, Idempotency-Key), then an image slot
  // before the body is read (an Idempotency-Key makes the account read it first, to fingerprint it).
  middleware: [...apiKey('verify', 'verify'), imageSlot, multipartOnce],
});

export const verifyRouter = newRouter().openapi(verifyRoute, async (c) => {
  const body = bodyMediaType(c) === 'json' ? c.req.valid('json') : c.req.valid('form');
  const limits = c.get('limits');
  const engine = await c.get('engine')();
  const request = { ...pairSources(body, limits), threshold: body.threshold, input: body.input, faces: faceChoices(body) };
  const { result } = await verifyPair(engine, request, { limits });
  c.header('Server-Timing', serverTiming(result.timing));
  return c.json(result, 200);
});
