/**
 * @module api/results
 * Deletion on request (store/retention). `DELETE /v1/results/{resultId}`: a stored
 * explanation, its maps and every PNG rendered from it go at once; its links answer 404
 * from then on. `DELETE /v1/images/{imageId}`: an image's cached bases and embedding go
 * (the id is `explanation.images.a|b` of an explanation); results that show the image are
 * not touched (delete them by id). All of a tenant's data also expires on its own
 * (docs/operations.md, Retention).
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { deleteImage, deleteResult } from '../store/retention.js';
import { ProblemError } from './problem.js';
import { problemResponses } from './schemas.js';
import type { AppEnv } from './types.js';

export function registerResults(app: OpenAPIHono<AppEnv>) {
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/results/{resultId}',
      summary: 'Delete a stored explanation and all its maps',
      security: [{ bearerAuth: [] }],
      request: { params: z.object({ resultId: z.string().openapi({ example: '3f2a9c0d5e7b41a6b8c2d4e6f8a0b1c3' }) }) },
      responses: {
        204: { description: 'Deleted' },
        ...problemResponses([401, 403, 404, 429, 503]),
      },
    }),
    async (c) => {
      const { resultId } = c.req.valid('param');
      if (!/^[0-9a-f]{32}$/.test(resultId)) throw new ProblemError('not-found', `no result ${resultId}: ids are 32 hex digits`);
      if (!(await deleteResult(c.env.DATA, c.get('caller')!.tenantId, resultId)))
        throw new ProblemError('not-found', `no result ${resultId} (never stored, or deleted already)`);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/images/{imageId}',
      summary: 'Forget an image: delete its cached bases and embedding',
      description:
        'The id is `explanation.images.a` or `.b` of an explanation. Every basis (any model version or kind) and the embedding cached for the image go; the next explanation of it computes them again. Stored results are separate: `DELETE /v1/results/{resultId}`.',
      security: [{ bearerAuth: [] }],
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
}
