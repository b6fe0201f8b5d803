/**
 * @module api/job-request
 * The parts of a new job a request gives (POST /v1/jobs, an inbound webhook's event): who
 * it belongs to and bills, and each image as bytes, a URL or an upload id.
 */
import type { Context } from 'hono';
import type { ImageLimits } from '../engine/image-decode.js';
import type { NewJob, NewJobImage } from '../jobs/create.js';
import { ProblemError } from '../problems/problem.js';
import type { AppEnv } from './context.js';
import { type ImageField, imageSource } from './request-images.js';

/** Who a new job belongs to and bills: the request's caller and reservation, and the origin its links point at. */
export const jobOwner = (c: Context<AppEnv>): Pick<NewJob, 'tenantId' | 'keyId' | 'ledgerId' | 'origin'> => ({
  tenantId: c.get('caller')!.tenantId,
  keyId: c.get('caller')!.keyId,
  ledgerId: c.get('ledgerId')!,
  origin: new URL(c.req.url).origin,
});

/** What a request gives for one image: bytes (a file or base64, refused when oversized), a URL, or an upload id. */
export function jobImage(body: Record<string, unknown>, image: 'a' | 'b', limits: ImageLimits): NewJobImage {
  const value = body[image];
  const url = (value as { url?: string } | undefined)?.url ?? (body[`${image}Url`] as string | undefined);
  const upload = (value as { upload?: string } | undefined)?.upload ?? (body[`${image}Upload`] as string | undefined);
  const bytes = value instanceof File || (value as { base64?: string } | undefined)?.base64 !== undefined;
  if ([bytes, url, upload].filter(Boolean).length !== 1)
    throw new ProblemError(
      'invalid-request',
      `${image}: give exactly one of a file (or base64), ${image}Url / {"url"}, or ${image}Upload / {"upload"}`,
      {
        field: image,
      },
    );
  if (url) return { url };
  if (upload) return { upload };
  return { bytes: imageSource(image, value as ImageField, limits) };
}
