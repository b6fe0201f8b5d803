/**
 * @module accounts/account
 * What callers of a tenant's `TenantAccount` Durable Object share with it: its stub, its
 * request and answer types and its time limits. Kept apart from the object's class so the
 * routes (and Node tools that build the app, e.g. the OpenAPI generator) import no
 * `cloudflare:workers` runtime module.
 */
import type { RateDecision, RatePolicy } from './rate-limit.js';

/** A reservation never settled nor refunded (its request died) is refunded after this long. */
export const ABANDONED_AFTER_MS = 15 * 60_000;
/** A job's reservation waits this long for its Workflow to settle it. */
export const JOB_HOLD_MS = 24 * 3600_000;
/** How long an idempotency key is remembered (docs/billing.md). */
export const IDEMPOTENCY_TTL_MS = 24 * 3600_000;

export interface AdmitRequest {
  tenantId: string;
  keyId: string;
  rate: RatePolicy;
  /** Units to reserve (the most the operation can cost); 0 for calls that are only rate limited. */
  units: number;
  ledgerId: string;
  /** The SHA-256 of the request's Idempotency-Key, and of what it was sent with. */
  idempotency?: { keyHash: string; fingerprint: string } | undefined;
  /** How long the reservation may stay unsettled before it is refunded (default ABANDONED_AFTER_MS). */
  holdMs?: number | undefined;
}

export type Admission =
  | { outcome: 'admitted'; rate: RateDecision }
  | { outcome: 'rate-limited'; rate: RateDecision }
  | { outcome: 'insufficient-credit'; rate: RateDecision; available: number; needed: number }
  | { outcome: 'replay'; rate: RateDecision; keyHash: string }
  | { outcome: 'idempotency-conflict'; rate: RateDecision }
  | { outcome: 'idempotency-in-flight'; rate: RateDecision };

export interface Balance {
  granted: number;
  spent: number;
  /** Reserved by requests still running. */
  held: number;
  available: number;
}

/** Where the Worker keeps the response an idempotency key replays. */
export const idempotencyResponseKey = (tenantId: string, keyHash: string) => `t/${tenantId}/idempotency/${keyHash}`;

export const accountOf = (env: Env, tenantId: string) => env.ACCOUNTS.get(env.ACCOUNTS.idFromName(tenantId));
