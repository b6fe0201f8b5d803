/**
 * @module api/results
 * `DELETE /v1/results/{resultId}`: a stored explanation, its maps and every PNG rendered
 * from it are deleted at once (store/retention); its links answer 404 from then on. The
 * bases and embeddings of its images stay cached (they belong to the images, not the pair);
 * all of a tenant's data also expires on its own (docs/operations.md, Retention).
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { deleteResult } from '../store/retention.js';
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
        ...problemResponses([401, 403, 404, 429]),
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
}
