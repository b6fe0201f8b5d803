/**
 * @module problems/problem
 * RFC 9457 problem details: every kind of problem the service reports, with its status,
 * title and documentation; `ProblemError`, which any layer below the routes throws to
 * report one; and the body's one schema (`Problem`), which the API answers
 * (`application/problem+json`, api/problem-response) and a failed job keeps.
 */
import { z } from '@hono/zod-openapi';

export const PROBLEMS = {
  'invalid-request': {
    status: 400,
    title: 'The request is invalid',
    doc: 'A field is missing, has the wrong type or is out of range; `errors` lists each one.',
  },
  'stale-webhook': {
    status: 400,
    title: 'The webhook is stale',
    doc: "An inbound event's webhook-timestamp is more than 5 minutes before or after the server's clock (a replay, or a sender's clock off).",
  },
  'payload-too-large': {
    status: 413,
    title: 'The request or an image is too large',
    doc: 'The body exceeds the size limit, or an image declares more pixels than allowed. Limits are in the detail.',
  },
  'unsupported-media-type': {
    status: 415,
    title: 'Unsupported media type',
    doc: 'The body must be multipart/form-data or application/json; images must be PNG or JPEG.',
  },
  'undecodable-image': {
    status: 422,
    title: 'The image cannot be decoded',
    doc: 'The image is truncated, corrupt or too small to hold a face.',
  },
  'image-unavailable': {
    status: 422,
    title: 'An image could not be fetched',
    doc: "A job's image URL failed (refused host, redirect loop, non-2xx answer, over the size limit, no answer in 10 s), or its upload is gone.",
  },
  'no-face': {
    status: 422,
    title: 'No face found',
    doc: 'The photo holds no face the detector scores above its threshold, or the requested face does not exist. Send a photo with a visible face, pick another face, or send an aligned crop with input "aligned-crop".',
  },
  unauthorized: {
    status: 401,
    title: 'Authentication required',
    doc: 'Send an API key as `Authorization: Bearer xfv_<env>_<id>_<secret>`. The key is missing, malformed, unknown, revoked, or for another environment.',
  },
  'insufficient-credit': {
    status: 402,
    title: 'Insufficient credit',
    doc: "The tenant's prepaid balance cannot cover what this call may cost (`needed`, `available` in units; docs/billing.md). Nothing was charged.",
  },
  forbidden: {
    status: 403,
    title: 'Forbidden',
    doc: "The key lacks the scope this route needs (`required`), or a map link's signature is invalid or expired.",
  },
  'idempotency-in-flight': {
    status: 409,
    title: 'A request with this Idempotency-Key is still running',
    doc: 'Wait for the first request with this key to finish, then retry to get its stored response.',
  },
  'job-not-finished': {
    status: 409,
    title: 'The job has not finished delivering',
    doc: 'A job delivers its webhook when it ends; it can be redelivered once it has succeeded or failed and no delivery is running.',
  },
  'idempotency-conflict': {
    status: 422,
    title: 'Idempotency-Key reused with another request',
    doc: 'This Idempotency-Key was used with a different method, path or body within the last 24 hours. Use a new key for a new request.',
  },
  'rate-limited': {
    status: 429,
    title: 'Too many requests',
    doc: 'The key has used up its rate limit (`RateLimit-Policy`); retry after the seconds in `Retry-After`.',
  },
  'not-found': { status: 404, title: 'Not found', doc: 'No such route or resource.' },
  'uri-too-long': {
    status: 414,
    title: 'The URL is too long',
    doc: 'The request URL is over 8 KiB. Every route takes its data in the body.',
  },
  'headers-too-large': {
    status: 431,
    title: 'The request headers are too large',
    doc: 'The request headers are over 16 KiB in all, or one is over 8 KiB.',
  },
  'method-not-allowed': {
    status: 405,
    title: 'Method not allowed',
    doc: 'The route exists but not for this method; `Allow` lists the methods.',
  },
  'range-not-satisfiable': { status: 416, title: 'Range not satisfiable', doc: 'The Range header asks for bytes outside the stored map.' },
  'model-unavailable': {
    status: 503,
    title: 'The model is unavailable',
    doc: 'The model files are missing or corrupt in storage, or the runtime could not start. Retry later.',
  },
  busy: {
    status: 503,
    title: 'The service is busy',
    doc: 'This instance is already running and queueing as many requests as it can hold in memory. Retry after the seconds in `Retry-After`.',
  },
  'image-service-unavailable': {
    status: 503,
    title: 'The image service is unavailable',
    doc: 'A photo over the in-isolate decode limit is scaled down by the image service, which failed twice. The image was not at fault; retry after the seconds in `Retry-After`.',
  },
  'storage-unavailable': {
    status: 503,
    title: 'Storage is unavailable',
    doc: 'Object storage failed or stopped half way while this request used it. Nothing partial was kept and nothing was charged; retry after the seconds in `Retry-After`.',
  },
  misconfigured: {
    status: 503,
    title: 'The service is not fully configured',
    doc: 'A secret or binding the service needs is missing in this deployment (the detail names it). Operators: docs/operations.md.',
  },
  'internal-error': { status: 500, title: 'Internal error', doc: 'An unexpected failure; the request id identifies it in the logs.' },
} as const;

export type ProblemKind = keyof typeof PROBLEMS;

export const problemType = (kind: ProblemKind) => `/problems/${kind}`;

/** A problem's body: its stable type URI, status, title, this occurrence's detail, and kind-specific members. */
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

/** The body's standard members. */
export type ProblemDetails = z.infer<typeof Problem>;
/** The body's standard members, and kind-specific ones. */
export type ProblemBody = ProblemDetails & { [extra: string]: unknown };

/** An error that carries its problem kind, thrown anywhere below the routes (the API answers it as its problem). */
export class ProblemError extends Error {
  constructor(
    readonly kind: ProblemKind,
    detail: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
    options?: ErrorOptions,
  ) {
    super(detail, options);
    this.name = 'ProblemError';
  }
}

export function problemBody(
  kind: ProblemKind,
  detail: string,
  extra: Record<string, unknown> = {},
  requestId?: string,
  instance?: string,
): ProblemBody {
  const { status, title } = PROBLEMS[kind];
  return {
    type: problemType(kind),
    title,
    status,
    detail,
    ...(instance ? { instance } : {}),
    ...(requestId ? { requestId } : {}),
    ...extra,
  };
}
