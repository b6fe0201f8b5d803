/**
 * @module api/routes/maps
 * `GET /v1/maps/{resultId}/{a|b}/{similarity|dissimilarity}.{png|overlay.png|f32|json}`,
 * `{a|b}/face.png` (the face as the model saw it) and, for FGGB results, `{a|b}/{p|q}.f32`
 * (the θ-free parts S(θ) = P − (θ/N)·Q), from the tenant's result store
 * (store/results): `.f32` streams a ranged read of the result
 * object (never buffered); `.json` is built from its record; a PNG streams from its own
 * object once rendered, and is rendered from the raw map and face (then kept) on first
 * request. Content-Type, Content-Length, a strong ETag and an immutable Cache-Control (the
 * ids are content addresses), If-None-Match → 304 and single byte ranges → 206 / 416.
 * Only the caller's tenant's results are found: a signed link's tenant or the API key's
 * (middleware/map-access); another tenant's result id is a 404.
 */
import { createRoute, z } from '@hono/zod-openapi';
import {
  CONTENT_TYPES,
  type ExplanationRecord,
  MAP_FORMATS,
  type MapFormat,
  renderPhotoOverlay,
  renderPng,
  sidecarBytes,
} from '../../engine/artifacts.js';
import { rgbPng } from '../../image/render.js';
import { ProblemError } from '../../problems/problem.js';
import { type Slice, ResultGoneError, r2ResultStore } from '../../store/results.js';
import { MAP_IMAGES, MAP_KINDS, type MapImage, type MapKind } from '../../xfv/maps.js';
import { mapAccess } from '../middleware/map-access.js';
import { problemResponses } from '../problem-response.js';
import { newRouter } from '../router.js';
import { etagMatches, requestedRange } from '../byte-ranges.js';

const AFFINE_FILE = /^(p|q)\.f32$/;
const FACE_FILE = 'face.png';
const FILE = new RegExp(`^(${MAP_KINDS.join('|')})\\.(${MAP_FORMATS.map((f) => f.replace('.', '\\.')).join('|')})$`);

export const mapRoute = createRoute({
  method: 'get',
  path: '/v1/maps/{resultId}/{image}/{file}',
  summary: 'A stored map: grey PNG, colour overlay PNG, raw float32 (with X-Map-Shape) or its JSON sidecar',
  description:
    'Files: `{similarity|dissimilarity}.{png|overlay.png|f32|json|photo-overlay.png}`; `face.png`, the face as the model saw it; and for FGGB `{p|q}.f32`: P and Q with S(θ) = P − (θ/N)·Q (N in `X-Map-Channels`), from which a client redraws both maps for any θ.',
  request: {
    params: z.object({
      resultId: z.string().openapi({ example: '3f2a…' }),
      image: z.string().openapi({ example: 'a' }),
      file: z.string().openapi({ example: 'similarity.overlay.png' }),
    }),
    query: z.object({
      tenant: z.string().optional().openapi({ description: 'Signed links: the tenant' }),
      expires: z.string().optional().openapi({ description: 'Signed links: expiry, unix seconds' }),
      signature: z.string().optional().openapi({ description: 'Signed links: HMAC-SHA256, base64url' }),
    }),
  },
  // A signed link, or an API key with the explain scope.
  security: [{ bearerAuth: [] }, {}] as { bearerAuth?: string[] }[],
  middleware: [mapAccess],
  responses: {
    200: {
      description: 'The map',
      content: {
        'image/png': { schema: z.string().openapi({ format: 'binary' }) },
        'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) },
      },
    },
    206: { description: 'A byte range of the map' },
    304: { description: 'Not modified (If-None-Match)' },
    ...problemResponses([401, 403, 404, 416, 429]),
  },
});

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** A 200 or 206 response over a body of known size (a stream or bytes already in memory). */
function bodyResponse(body: ReadableStream | Uint8Array | null, size: number, range: Slice | undefined, headers: Headers): Response {
  headers.set('Accept-Ranges', 'bytes');
  if (range) {
    headers.set('Content-Range', `bytes ${range.offset}-${range.offset + range.length - 1}/${size}`);
    headers.set('Content-Length', String(range.length));
    return new Response(body as BodyInit | null, { status: 206, headers });
  }
  headers.set('Content-Length', String(size));
  return new Response(body as BodyInit | null, { status: 200, headers });
}

const sliceOf = (bytes: Uint8Array, range: Slice | undefined) =>
  range ? bytes.subarray(range.offset, range.offset + range.length) : bytes;

export const mapsRouter = newRouter().openapi(mapRoute, async (c) => {
  const { resultId, image, file } = c.req.valid('param');
  const match = FILE.exec(file);
  const affine = AFFINE_FILE.exec(file);
  const isFace = file === FACE_FILE;
  if (!/^[0-9a-f]{32}$/.test(resultId) || !(MAP_IMAGES as readonly string[]).includes(image) || !(match || affine || isFace)) {
    throw new ProblemError(
      'not-found',
      `no map ${resultId}/${image}/${file}: expected /v1/maps/<32 hex>/<a|b>/<similarity|dissimilarity>.<png|overlay.png|f32|json>, <a|b>/<p|q>.f32 or <a|b>/face.png`,
    );
  }
  const [kind, format] = match
    ? [match[1] as MapKind, match[2] as MapFormat]
    : (['similarity', isFace ? 'png' : 'f32'] as [MapKind, MapFormat]);
  const results = r2ResultStore(c.env.DATA, c.get('mapTenant')!);
  const layout = await results.layout(resultId);
  if (!layout) throw new ProblemError('not-found', `no map ${resultId}/${image}/${file} (unknown result, or explained with store: false)`);
  const affineSlice = affine ? layout.affine(`${image as MapImage}.${affine[1] as 'p' | 'q'}`) : undefined;
  if (affine && !affineSlice)
    throw new ProblemError('not-found', `no map ${resultId}/${image}/${file}: P and Q exist for FGGB results only`);

  // Content-addressed: the result id and the file name determine the bytes.
  const etag = `"${resultId}-${image}-${file}"`;
  const headers = new Headers({ ETag: etag, 'Cache-Control': IMMUTABLE, 'Content-Type': CONTENT_TYPES[format] });
  if (etagMatches(c.req.header('if-none-match'), etag)) return new Response(null, { status: 304, headers });
  const rangeHeader = c.req.header('range');
  const map = affineSlice ?? layout.map(`${image as MapImage}.${kind}`);
  if (affineSlice) headers.set('X-Map-Channels', String(layout.channels));
  const read = async (slice: Slice) => {
    try {
      return await results.read(resultId, slice);
    } catch (e) {
      if (e instanceof ResultGoneError) throw new ProblemError('not-found', e.message, {}, {}, { cause: e });
      throw e;
    }
  };

  if (format === 'f32') {
    headers.set('X-Map-Shape', `${layout.size},${layout.size}`);
    const range = requestedRange(rangeHeader, map.length);
    const part = range ?? { offset: 0, length: map.length };
    const stored = await read({ offset: map.offset + part.offset, length: part.length });
    return bodyResponse(stored.body, map.length, range, headers);
  }

  if (format === 'json') {
    const record = JSON.parse(new TextDecoder().decode(await (await read(layout.record)).bytes())) as ExplanationRecord;
    const bytes = sidecarBytes(record, image as MapImage, kind);
    const range = requestedRange(rangeHeader, bytes.length);
    return bodyResponse(sliceOf(bytes, range), bytes.length, range, headers);
  }

  // PNGs: kept beside the result once rendered; streamed from there (a byte range of
  // a PNG, rare, is cut from the few tens of KB in memory).
  const path = `${image}/${file}`;
  const png = await results.rendered(resultId, path);
  if (png) {
    const range = requestedRange(rangeHeader, png.size);
    if (!range) return bodyResponse(png.body, png.size, undefined, headers);
    return bodyResponse(sliceOf(await png.bytes(), range), png.size, range, headers);
  }
  const photo = layout.photo(image as MapImage);
  if (format === 'photo-overlay.png' && !photo)
    throw new ProblemError('not-found', `no map ${resultId}/${image}/${file}: image ${image} was not a photo`);
  // face.png needs only the face; the map PNGs the map and the face.
  const [face, raw] = await Promise.all(
    (isFace ? [layout.face(image as MapImage)] : [layout.face(image as MapImage), map]).map(async (slice) => (await read(slice)).bytes()),
  );
  const values = raw ? new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4) : new Float32Array();
  let bytes: Uint8Array;
  if (isFace) bytes = rgbPng(face!, layout.size, layout.size);
  else if (format === 'photo-overlay.png') {
    const record = JSON.parse(new TextDecoder().decode(await (await read(layout.record)).bytes())) as ExplanationRecord;
    const transform = record.photos?.[image as MapImage];
    if (!transform || !photo)
      throw new ProblemError('not-found', `no map ${resultId}/${image}/${file}: the result keeps no photo transform`);
    const pixels = await (await read(photo)).bytes();
    bytes = renderPhotoOverlay(values, layout.size, { width: photo.width, height: photo.height, data: pixels }, transform);
  } else bytes = renderPng(format, values, face!, layout.size);
  await results.keepRendered(resultId, path, bytes, 'image/png');
  const range = requestedRange(rangeHeader, bytes.length);
  return bodyResponse(sliceOf(bytes, range), bytes.length, range, headers);
});
