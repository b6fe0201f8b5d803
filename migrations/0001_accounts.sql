-- Tenants, their API keys, prepaid credit grants and the usage ledger (src/accounts/db.ts).
-- Balances and rate-limit buckets live in each tenant's Durable Object (src/accounts/account-object.ts).
CREATE TABLE tenants (
  id TEXT PRIMARY KEY,              -- slug, e.g. "acme"; also the R2 prefix t/<id>/
  name TEXT NOT NULL,
  billing_customer TEXT,            -- e.g. a Stripe customer id, used by the usage export
  created_at INTEGER NOT NULL       -- ms since epoch
);

CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,              -- the public part of xfv_<env>_<id>_<secret>
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  env TEXT NOT NULL,
  hash TEXT NOT NULL,               -- SHA-256 (hex) of the whole key; the key itself is never stored
  scopes TEXT NOT NULL,             -- comma-separated: verify,explain,jobs,admin
  name TEXT,
  rate_quota INTEGER,               -- requests per rate_window seconds; NULL = the deployment default
  rate_window INTEGER,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  last_used_at INTEGER
);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id);

CREATE TABLE credit_grants (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  units INTEGER NOT NULL,
  note TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX credit_grants_tenant ON credit_grants(tenant_id);

-- One row per billable event; the id (request or idempotency ledger id) makes every
-- write idempotent: a retried settlement never counts twice.
CREATE TABLE usage (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  key_id TEXT NOT NULL,
  operation TEXT NOT NULL,          -- verify | explain | job
  units INTEGER NOT NULL,
  at INTEGER NOT NULL,              -- ms since epoch
  request_id TEXT
);
CREATE INDEX usage_tenant_at ON usage(tenant_id, at);
