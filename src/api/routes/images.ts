/**
 * @module api/routes/images
 * `DELETE /v1/images/{imageId}` (store/retention): an image's cached bases and embedding go
 * (the id is `explanation.images.a|b` of an explanation); results that show the image are
 * not touched (delete them by id). All of a tenant's data also expires on its own
 * (docs/operations.md, Retention).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { ProblemError } from '../../problems/problem.js';
import { deleteImage } from '../../store/retention.js';
import { apiKey, bearerAuth } from '../middleware/api-key.js';
import { problemResponses } from '../problem-response.js';
import { newRouter } from '../router.js';

export const imagesRouter = newRouter().openapi(
  createRoute({
    method: 'delete',
    path: '/v1/images/{imageId}',
    summary: 'Forget an image: delete its cached bases and embedding',
    description:
      'The id is `explanation.images.a` or `.b` of an explanation. Every basis (any model version or kind) and the embedding cached for the image go; the next explanation of it computes them again. Stored results are separate: `DELETE /v1/results/{resultId}`.',
    security: bearerAuth,
    middleware: apiKey('explain', null),
    request: {
      params: z.object({ imageId: z.string().openapi({ example: '8c2ae30d1994435cf970e5cc633d2f4352713a33fd7a8ce2cc7c2c6377ddd33a' }) }),
    },
    responses: {
      204: { description: 'Deleted' },
      ...problemResponses([401, 403, 404, 429, 503]),
    },
  }),
  async (c) => {
    const { imageId } = c.req.valid('param');
    if (!/^[0-9a-f]{64}$/.test(imageId)) throw new ProblemError('not-found', `no image ${imageId}: ids are 64 hex digits`);
    if ((await deleteImage(c.env.DATA, c.get('caller')!.tenantId, imageId)) === 0)
      throw new ProblemError('not-found', `nothing is cached for image ${imageId} (never explained with store, or deleted already)`);
    return c.body(null, 204);
  },
);
