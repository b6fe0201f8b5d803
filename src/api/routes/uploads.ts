/**
 * @module api/routes/uploads
 * `POST /v1/uploads`: keep an image for later jobs; its id is its content hash.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { jobKeys } from '../../jobs/db.js';
import { sha256Hex } from '../../sha256.js';
import { apiKey, bearerAuth } from '../middleware/api-key.js';
import { imageSlot } from '../middleware/image-slot.js';
import { multipartOnce } from '../middleware/multipart-once.js';
import { problemResponses } from '../problem-response.js';
import { bodyMediaType } from '../request-body.js';
import { imageSource } from '../request-images.js';
import { newRouter } from '../router.js';
import { Upload } from './jobs.schemas.js';
import { ImageJson } from './verify.schemas.js';

export const uploadsRouter = newRouter().openapi(
  createRoute({
    method: 'post',
    path: '/v1/uploads',
    summary: 'Keep an image for later jobs (multipart field image); its id is its content hash',
    security: bearerAuth,
    middleware: [...apiKey('jobs', null), imageSlot, multipartOnce],
    request: {
      body: {
        content: {
          'multipart/form-data': {
            schema: z.object({ image: z.instanceof(File).openapi({ type: 'string', format: 'binary', description: 'PNG or JPEG' }) }),
          },
          'application/json': { schema: z.object({ image: ImageJson }) },
        },
      },
    },
    responses: {
      201: { description: 'Kept', content: { 'application/json': { schema: Upload } } },
      ...problemResponses([400, 401, 403, 413, 415, 429]),
    },
  }),
  async (c) => {
    const body = bodyMediaType(c) === 'json' ? c.req.valid('json') : c.req.valid('form');
    const source = imageSource('image', body.image, c.get('limits'));
    const bytes = source instanceof Uint8Array ? source : new Uint8Array(await source.arrayBuffer());
    const upload = `upl_${await sha256Hex(bytes)}`;
    await c.env.DATA.put(jobKeys.upload(c.get('caller')!.tenantId, upload), bytes);
    return c.json({ upload, bytes: bytes.length }, 201);
  },
);
