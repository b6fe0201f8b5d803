/**
 * @module accounts/rate-limit
 * A token bucket per API key (q requests per w seconds, refilled continuously, a burst of
 * up to q), and its IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers):
 * `RateLimit-Policy: "default";q=100;w=60` and `RateLimit: "default";r=42;t=18`, where r is
 * what is left and t the seconds until the bucket is full again. Pure: the state lives in
 * the tenant's Durable Object.
 */
export interface RatePolicy {
  /** Requests per window (the bucket's size). */
  quota: number;
  /** Window in seconds. */
  window: number;
}

export interface Bucket {
  tokens: number;
  updatedMs: number;
}

export interface RateDecision {
  allowed: boolean;
  bucket: Bucket;
  /** Whole requests left after this one. */
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** Seconds until one request is allowed again (0 when allowed). */
  retryAfterSeconds: number;
}

/** Take one token from `bucket` (undefined: a full bucket) at `nowMs`. */
export function takeToken(policy: RatePolicy, bucket: Bucket | undefined, nowMs: number): RateDecision {
  const perMs = policy.quota / (policy.window * 1000);
  const elapsed = bucket ? Math.max(0, nowMs - bucket.updatedMs) : 0;
  const tokens = bucket ? Math.min(policy.quota, bucket.tokens + elapsed * perMs) : policy.quota;
  const allowed = tokens >= 1;
  const left = allowed ? tokens - 1 : tokens;
  return {
    allowed,
    bucket: { tokens: left, updatedMs: nowMs },
    remaining: Math.floor(left),
    resetSeconds: Math.ceil((policy.quota - left) / perMs / 1000),
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - left) / perMs / 1000)),
  };
}

export function rateLimitHeaders(policy: RatePolicy, d: RateDecision): Record<string, string> {
  return {
    'RateLimit-Policy': `"default";q=${policy.quota};w=${policy.window}`,
    RateLimit: `"default";r=${d.remaining};t=${d.resetSeconds}`,
  };
}
