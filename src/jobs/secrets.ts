/**
 * @module jobs/secrets
 * A tenant's webhook signing secrets: one is made on first read; a rotation makes a new one
 * and keeps the old ones signing for 24 hours.
 */
import { bind } from '../accounts/db.js';
import { activeSecrets, jobSql } from './db.js';
import { newWebhookSecret } from './webhooks.js';

/** How long a rotated-out secret keeps signing. */
export const ROTATION_OVERLAP_MS = 24 * 3600_000;

export interface SigningSecret {
  secret: string;
  createdAt: number;
  /** When it stops signing (a rotated-out secret), or null. */
  expiresAt: number | null;
}

/** The tenant's active secrets; a first one made when it has none, or a new one on rotation. */
export async function signingSecrets(env: Env, tenantId: string, rotate: boolean): Promise<SigningSecret[]> {
  const now = Date.now();
  let active = await activeSecrets(env.DB, tenantId, now);
  if (rotate || active.length === 0) {
    const statements = [
      ...(rotate ? [jobSql.retireSecrets(tenantId, now + ROTATION_OVERLAP_MS, now)] : []),
      jobSql.addSecret(tenantId, newWebhookSecret(), now),
    ];
    await env.DB.batch(statements.map((s) => bind(env.DB, s)));
    active = await activeSecrets(env.DB, tenantId, now);
  }
  return active.map((s) => ({ secret: s.secret, createdAt: s.created_at, expiresAt: s.retired_at }));
}
