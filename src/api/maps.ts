/**
 * @module api/maps
 * `GET /v1/maps/{resultId}/{a|b}/{similarity|dissimilarity}.{png|overlay.png|f32|json}`:
 * streams the R2 object body (never buffered) with its Content-Type, Content-Length, ETag
 * and an immutable Cache-Control (the ids are content addresses), answering conditional
 * GETs (If-None-Match → 304) and byte ranges (206).
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { MAP_FORMATS, MAP_IMAGES, MAP_KINDS } from './artifacts.js';
import { DEFAULT_TENANT, tenantPrefix } from '../store/keys.js';
import { ProblemError } from './problem.js';
import { problemResponses } from './schemas.js';
import type { AppEnv } from './types.js';

const FILE = new RegExp(`^(${MAP_KINDS.join('|')})\\.(${MAP_FORMATS.map((f) => f.replace('.', '\\.')).join('|')})$`);

export const mapRoute = createRoute({
  method: 'get',
  path: '/v1/maps/{resultId}/{image}/{file}',
  summary: 'A stored map: grey PNG, colour overlay PNG, raw float32 (with X-Map-Shape) or its JSON sidecar',
  request: {
    params: z.object({
      resultId: z.string().openapi({ example: '3f2a…' }),
      image: z.string().openapi({ example: 'a' }),
      file: z.string().openapi({ example: 'similarity.overlay.png' }),
    }),
  },
  responses: {
    200: { description: 'The map', content: { 'image/png': { schema: z.string().openapi({ format: 'binary' }) }, 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
    206: { description: 'A byte range of the map' },
    304: { description: 'Not modified (If-None-Match)' },
    ...problemResponses([404, 416]),
  },
});

export function registerMaps(app: OpenAPIHono<AppEnv>) {
  app.openapi(mapRoute, async (c) => {
    const { resultId, image, file } = c.req.valid('param');
    if (!/^[0-9a-f]{32}$/.test(resultId) || !(MAP_IMAGES as readonly string[]).includes(image) || !FILE.test(file)) {
      throw new ProblemError('not-found', `no map ${resultId}/${image}/${file}: expected /v1/maps/<32 hex>/<a|b>/<similarity|dissimilarity>.<png|overlay.png|f32|json>`);
    }
    const key = `${tenantPrefix(DEFAULT_TENANT)}results/${resultId}/${image}/${file}`;
    let object: R2Object | R2ObjectBody | null;
    try {
      object = await c.env.DATA.get(key, { onlyIf: c.req.raw.headers, range: c.req.raw.headers });
    } catch (e) {
      throw new ProblemError('range-not-satisfiable', `the requested range cannot be served: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!object) throw new ProblemError('not-found', `no map ${resultId}/${image}/${file} (unknown result, or stored with store: false)`);
    const headers = new Headers();
    object.writeHttpMetadata(headers);
    headers.set('ETag', object.httpEtag);
    headers.set('Cache-Control', 'public, max-age=31536000, immutable');
    headers.set('Accept-Ranges', 'bytes');
    if (object.customMetadata?.shape && file.endsWith('.f32')) headers.set('X-Map-Shape', object.customMetadata.shape);
    if (!('body' in object)) return new Response(null, { status: 304, headers });
    const range = object.range as { offset?: number; length?: number; suffix?: number } | undefined;
    if (range && c.req.header('range')) {
      const offset = range.suffix !== undefined ? object.size - range.suffix : (range.offset ?? 0);
      const length = range.suffix !== undefined ? range.suffix : (range.length ?? object.size - offset);
      headers.set('Content-Range', `bytes ${offset}-${offset + length - 1}/${object.size}`);
      headers.set('Content-Length', String(length));
      return new Response(object.body, { status: 206, headers });
    }
    headers.set('Content-Length', String(object.size));
    return new Response(object.body, { status: 200, headers });
  });
}
