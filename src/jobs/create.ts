/**
 * @module jobs/create
 * Starting a job (POST /v1/jobs, an inbound webhook's event): its callback URL and image
 * references checked, its images kept in R2 (or referenced: a URL fetched by the job, an
 * earlier upload), its row in D1, its Workflow started. And a finished job's delivery
 * started again (POST /v1/jobs/{id}/redeliver).
 */
import { bind } from '../accounts/db.js';
import type { ImageSource } from '../engine/image-decode.js';
import { ProblemError } from '../problems/problem.js';
import { findJob, type ImageRef, jobKeys, type JobRequest, type JobRow, type JobSettings, jobSql } from './db.js';
import { checkOutboundUrl } from './guarded-url.js';

/** A new job's image: its bytes (kept beside the job), a URL the job fetches, or an upload's id. */
export type NewJobImage = { bytes: ImageSource } | { url: string } | { upload: string };

export interface NewJob {
  tenantId: string;
  keyId: string;
  /** The credit reservation the job's Workflow settles when it ends. */
  ledgerId: string;
  /** Scheme and host the job's links point at (the API's own origin). */
  origin: string;
  settings: JobSettings;
  images: { a: NewJobImage; b: NewJobImage };
  callbackUrl: string | null | undefined;
}

/** Check and keep a job, start its Workflow; the id of the new job. */
export async function createJob(env: Env, job: NewJob): Promise<string> {
  const allowLoopbackHttp = env.KEY_ENV === 'local';
  if (job.callbackUrl) {
    const check = checkOutboundUrl(job.callbackUrl, { allowLoopbackHttp });
    if (!check.ok) throw new ProblemError('invalid-request', `callbackUrl refused: ${check.reason}`, { field: 'callbackUrl' });
  }
  const id = `job_${crypto.randomUUID().replace(/-/g, '')}`;
  const images: Record<'a' | 'b', ImageRef> = { a: { stored: true }, b: { stored: true } };
  for (const image of ['a', 'b'] as const) {
    const ref = job.images[image];
    if ('url' in ref) {
      const check = checkOutboundUrl(ref.url, { allowLoopbackHttp });
      if (!check.ok) throw new ProblemError('invalid-request', `${image}: image URL refused: ${check.reason}`, { field: image });
      images[image] = { url: check.url.href };
    } else if ('upload' in ref) {
      if (!(await env.DATA.head(jobKeys.upload(job.tenantId, ref.upload))))
        throw new ProblemError('invalid-request', `${image}: no upload ${ref.upload}`, { field: image });
      images[image] = { upload: ref.upload };
    } else {
      await env.DATA.put(jobKeys.image(job.tenantId, id, image), ref.bytes);
    }
  }
  const { method, centre, smooth, threshold, maps, input, faces } = job.settings;
  const request: JobRequest = { method, centre, smooth, threshold, maps, input, faces, origin: job.origin, images };
  const row = {
    id,
    tenantId: job.tenantId,
    keyId: job.keyId,
    ledgerId: job.ledgerId,
    request,
    callbackUrl: job.callbackUrl ?? null,
    now: Date.now(),
  };
  await bind(env.DB, jobSql.create(row)).run();
  await env.JOBS.create({ id, params: { jobId: id, tenantId: job.tenantId } });
  return id;
}

/**
 * Deliver a finished job's webhook again (the same webhook-id): 400 without a callbackUrl,
 * 409 while it runs or delivers. Asking for it re-enables an endpoint that answered 410 before.
 */
export async function redeliverJob(env: Env, row: JobRow): Promise<void> {
  if (!row.callback_url) throw new ProblemError('invalid-request', `job ${row.id} has no callbackUrl`);
  if (row.status !== 'succeeded' && row.status !== 'failed')
    throw new ProblemError('job-not-finished', `job ${row.id} is ${row.status}: it delivers when it ends`);
  if (row.delivery_status === 'pending') throw new ProblemError('job-not-finished', `job ${row.id} is delivering already`);
  await env.DB.batch([jobSql.redeliver(row.id), jobSql.enableEndpoint(row.tenant_id, row.callback_url)].map((st) => bind(env.DB, st)));
  await env.JOBS.create({
    id: `${row.id}-redeliver-${Date.now()}`,
    params: { jobId: row.id, tenantId: row.tenant_id, redeliver: true },
  });
}

/** One tenant's job by id: 404 for a malformed id, another tenant's, or none. */
export async function tenantJob(env: Env, id: string, tenantId: string): Promise<JobRow> {
  const row = /^job_[0-9a-f]{32}$/.test(id) ? await findJob(env.DB, id, tenantId) : undefined;
  if (!row) throw new ProblemError('not-found', `no job ${id}`);
  return row;
}
