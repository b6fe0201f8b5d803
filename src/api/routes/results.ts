/**
 * @module api/routes/results
 * `DELETE /v1/results/{resultId}` (store/retention): a stored explanation, its maps and
 * every PNG rendered from it go at once; its links answer 404 from then on. All of a
 * tenant's data also expires on its own (docs/operations.md, Retention).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { ProblemError } from '../../problems/problem.js';
import { deleteResult } from '../../store/retention.js';
import { apiKey, bearerAuth } from '../middleware/api-key.js';
import { problemResponses } from '../problem-response.js';
import { newRouter } from '../router.js';

export const resultsRouter = newRouter().openapi(
  createRoute({
    method: 'delete',
    path: '/v1/results/{resultId}',
    summary: 'Delete a stored explanation and all its maps',
    security: bearerAuth,
    middleware: apiKey('explain', null),
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
