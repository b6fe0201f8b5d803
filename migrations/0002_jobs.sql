-- Asynchronous explanation jobs and their webhook deliveries (src/jobs/), and each
-- tenant's webhook signing secrets (two are active during a rotation).
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,                -- job_<32 hex>; also the Workflow instance id
  tenant_id TEXT NOT NULL,
  key_id TEXT NOT NULL,
  ledger_id TEXT NOT NULL,            -- the credit reservation the job settles
  status TEXT NOT NULL,               -- queued | running | succeeded | failed
  request TEXT NOT NULL,              -- JSON: explain options and the origin for links
  callback_url TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  error TEXT,                         -- JSON problem when failed
  delivery_status TEXT NOT NULL,      -- none | pending | delivered | failed | disabled
  delivery_attempts INTEGER NOT NULL DEFAULT 0,
  delivered_at INTEGER,
  last_delivery_error TEXT
);
CREATE INDEX jobs_tenant ON jobs(tenant_id, created_at);

CREATE TABLE webhook_secrets (
  tenant_id TEXT NOT NULL,
  secret TEXT NOT NULL,               -- whsec_<base64>
  created_at INTEGER NOT NULL,
  retired_at INTEGER,                 -- still signs until then (a rotation's overlap)
  PRIMARY KEY (tenant_id, secret)
);

-- Inbound webhooks (POST /v1/hooks/{id}): a sender signs its events with the source's
-- secret; the jobs they start run, and are billed, as the source's API key.
CREATE TABLE hook_sources (
  id TEXT PRIMARY KEY,                -- the {id} in /v1/hooks/{id}
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  key_id TEXT NOT NULL REFERENCES api_keys(id),
  secret TEXT NOT NULL,               -- whsec_<base64>
  callback_url TEXT,                  -- where its jobs deliver, unless the event says
  created_at INTEGER NOT NULL
);

-- Callback URLs that answered 410 Gone: nothing more is delivered to them until a client
-- asks for a redelivery to that URL (POST /v1/jobs/{id}/redeliver).
CREATE TABLE disabled_endpoints (
  tenant_id TEXT NOT NULL,
  url TEXT NOT NULL,
  disabled_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, url)
);
