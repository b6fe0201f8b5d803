/**
 * @module jobs/db
 * The jobs and webhook-secret tables in D1 (migrations/0002_jobs.sql): statements shared
 * by the routes and the job Workflow, and the row → API shape.
 */
import { bind, type Statement } from '../accounts/db.js';
import type { ExplainSettings } from '../engine/explain-images.js';
import type { MapSelector } from '../xfv/maps.js';

const q = (sql: string, ...params: (string | number | null)[]): Statement => ({ sql, params });

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';
export type DeliveryStatus = 'none' | 'pending' | 'delivered' | 'failed' | 'disabled';

/** How a job explains its pair: as /v1/explain is asked (a job always keeps its result), and the maps wanted (default all). */
export interface JobSettings extends Omit<ExplainSettings, 'store'> {
  maps?: MapSelector[] | undefined;
}

/** What a job was asked to do (the images are in R2 beside it). */
export interface JobRequest extends JobSettings {
  /** Scheme and host the job's links point at (the API's own origin). */
  origin: string;
  /** Where each image is: kept beside the job, at a URL (fetched by the job), or an upload. */
  images: { a: ImageRef; b: ImageRef };
}

/** What a finished explanation tells the job's Workflow. */
export interface JobSummary {
  decision: string;
  similarity: number;
  resultId: string | null;
}

export type ImageRef = { stored: true } | { url: string } | { upload: string };

export interface JobRow {
  id: string;
  tenant_id: string;
  key_id: string;
  ledger_id: string;
  status: JobStatus;
  request: string;
  callback_url: string | null;
  attempts: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  error: string | null;
  delivery_status: DeliveryStatus;
  delivery_attempts: number;
  delivered_at: number | null;
  last_delivery_error: string | null;
}

export const jobSql = {
  create: (j: {
    id: string;
    tenantId: string;
    keyId: string;
    ledgerId: string;
    request: JobRequest;
    callbackUrl: string | null;
    now: number;
  }) =>
    q(
      `INSERT INTO jobs (id, tenant_id, key_id, ledger_id, status, request, callback_url, created_at, delivery_status)
       VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?)`,
      j.id,
      j.tenantId,
      j.keyId,
      j.ledgerId,
      JSON.stringify(j.request),
      j.callbackUrl,
      j.now,
      j.callbackUrl ? 'pending' : 'none',
    ),
  /** One tenant's job: another tenant's id finds nothing. */
  get: (id: string, tenantId: string) => q('SELECT * FROM jobs WHERE id = ? AND tenant_id = ?', id, tenantId),
  running: (id: string, now: number) =>
    q("UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = COALESCE(started_at, ?) WHERE id = ?", now, id),
  finished: (id: string, status: 'succeeded' | 'failed', error: string | null, now: number) =>
    q('UPDATE jobs SET status = ?, error = ?, finished_at = ? WHERE id = ?', status, error, now, id),
  delivery: (id: string, status: DeliveryStatus, error: string | null, now: number) =>
    q(
      `UPDATE jobs SET delivery_status = ?, delivery_attempts = delivery_attempts + 1, last_delivery_error = ?,
       delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END WHERE id = ?`,
      status,
      error,
      status,
      now,
      id,
    ),
  redeliver: (id: string) => q("UPDATE jobs SET delivery_status = 'pending' WHERE id = ?", id),
  disableEndpoint: (tenantId: string, url: string, now: number) =>
    q('INSERT INTO disabled_endpoints (tenant_id, url, disabled_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', tenantId, url, now),
  enableEndpoint: (tenantId: string, url: string) => q('DELETE FROM disabled_endpoints WHERE tenant_id = ? AND url = ?', tenantId, url),
  endpointDisabled: (tenantId: string, url: string) =>
    q('SELECT disabled_at FROM disabled_endpoints WHERE tenant_id = ? AND url = ?', tenantId, url),
  /** Secrets that sign now: not retired, or retired in the future (a rotation's overlap). */
  secrets: (tenantId: string, now: number) =>
    q(
      'SELECT secret, created_at, retired_at FROM webhook_secrets WHERE tenant_id = ? AND (retired_at IS NULL OR retired_at > ?) ORDER BY created_at DESC',
      tenantId,
      now,
    ),
  addSecret: (tenantId: string, secret: string, now: number) =>
    q('INSERT INTO webhook_secrets (tenant_id, secret, created_at) VALUES (?, ?, ?)', tenantId, secret, now),
  retireSecrets: (tenantId: string, at: number, now: number) =>
    q('UPDATE webhook_secrets SET retired_at = ? WHERE tenant_id = ? AND (retired_at IS NULL OR retired_at > ?)', at, tenantId, now),
};

export async function findJob(db: D1Database, id: string, tenantId: string): Promise<JobRow | undefined> {
  return (await bind(db, jobSql.get(id, tenantId)).first<JobRow>()) ?? undefined;
}

export async function activeSecrets(db: D1Database, tenantId: string, now = Date.now()) {
  const { results } = await bind(db, jobSql.secrets(tenantId, now)).all<{
    secret: string;
    created_at: number;
    retired_at: number | null;
  }>();
  return results;
}

export const jobKeys = {
  image: (tenantId: string, jobId: string, image: 'a' | 'b') => `t/${tenantId}/jobs/${jobId}/${image}`,
  result: (tenantId: string, jobId: string) => `t/${tenantId}/jobs/${jobId}/result.json`,
  /** An upload (POST /v1/uploads): content-addressed, per tenant. */
  upload: (tenantId: string, upload: string) => `t/${tenantId}/uploads/${upload.slice(4)}`,
};

/** An inbound webhook source (POST /v1/hooks/{id}). */
export interface SourceRow {
  id: string;
  tenant_id: string;
  key_id: string;
  secret: string;
  callback_url: string | null;
}

export const hookSql = {
  source: (id: string) => q('SELECT id, tenant_id, key_id, secret, callback_url FROM hook_sources WHERE id = ?', id),
  create: (s: { id: string; tenantId: string; keyId: string; secret: string; callbackUrl: string | null; now: number }) =>
    q(
      'INSERT INTO hook_sources (id, tenant_id, key_id, secret, callback_url, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      s.id,
      s.tenantId,
      s.keyId,
      s.secret,
      s.callbackUrl,
      s.now,
    ),
};
