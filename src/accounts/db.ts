/**
 * @module accounts/db
 * The accounts tables in D1 (migrations/): tenants, API keys, credit grants and the usage
 * ledger. Every query is a plain `Statement` (SQL with `?` parameters) so the Worker runs it
 * on its D1 binding and the admin CLI runs the very same SQL through `wrangler d1 execute`.
 */
import type { Operation } from './prices.js';
import type { Scope } from './keys.js';

export type SqlValue = string | number | null;
export interface Statement {
  sql: string;
  params: SqlValue[];
}
const q = (sql: string, ...params: SqlValue[]): Statement => ({ sql, params });

export interface KeyRecord {
  id: string;
  tenantId: string;
  env: string;
  hash: string;
  scopes: Scope[];
  name: string | null;
  rateQuota: number | null;
  rateWindow: number | null;
  createdAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export interface LedgerEntry {
  id: string;
  tenantId: string;
  keyId: string;
  operation: Operation;
  units: number;
  at: number;
  requestId: string | null;
}

interface KeyRow {
  id: string;
  tenant_id: string;
  env: string;
  hash: string;
  scopes: string;
  name: string | null;
  rate_quota: number | null;
  rate_window: number | null;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

export const keyFromRow = (r: KeyRow): KeyRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  env: r.env,
  hash: r.hash,
  scopes: r.scopes.split(',').filter(Boolean) as Scope[],
  name: r.name,
  rateQuota: r.rate_quota,
  rateWindow: r.rate_window,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
});

/** The statements, shared by the Worker and the CLI. */
export const sql = {
  createTenant: (id: string, name: string, now: number, billingCustomer: string | null = null) =>
    q(
      'INSERT INTO tenants (id, name, billing_customer, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO NOTHING',
      id,
      name,
      billingCustomer,
      now,
    ),
  updateTenant: (id: string, name: string | null, billingCustomer: string | null) =>
    q(
      'UPDATE tenants SET name = COALESCE(?, name), billing_customer = COALESCE(?, billing_customer) WHERE id = ?',
      name,
      billingCustomer,
      id,
    ),
  tenant: (id: string) => q('SELECT id, name, billing_customer, created_at FROM tenants WHERE id = ?', id),
  tenants: () => q('SELECT id, name, billing_customer, created_at FROM tenants ORDER BY id'),
  createKey: (k: Omit<KeyRecord, 'revokedAt' | 'lastUsedAt'>) =>
    q(
      'INSERT INTO api_keys (id, tenant_id, env, hash, scopes, name, rate_quota, rate_window, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      k.id,
      k.tenantId,
      k.env,
      k.hash,
      k.scopes.join(','),
      k.name,
      k.rateQuota,
      k.rateWindow,
      k.createdAt,
    ),
  key: (id: string) => q('SELECT * FROM api_keys WHERE id = ?', id),
  keys: (tenantId?: string) =>
    tenantId
      ? q('SELECT * FROM api_keys WHERE tenant_id = ? ORDER BY created_at', tenantId)
      : q('SELECT * FROM api_keys ORDER BY tenant_id, created_at'),
  revokeKey: (id: string, now: number) => q('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', now, id),
  touchKey: (id: string, now: number) => q('UPDATE api_keys SET last_used_at = ? WHERE id = ?', now, id),
  grant: (id: string, tenantId: string, units: number, note: string | null, now: number) =>
    q('INSERT INTO credit_grants (id, tenant_id, units, note, created_at) VALUES (?, ?, ?, ?, ?)', id, tenantId, units, note, now),
  granted: (tenantId: string) => q('SELECT COALESCE(SUM(units), 0) AS units FROM credit_grants WHERE tenant_id = ?', tenantId),
  record: (e: LedgerEntry) =>
    q(
      'INSERT INTO usage (id, tenant_id, key_id, operation, units, at, request_id) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING',
      e.id,
      e.tenantId,
      e.keyId,
      e.operation,
      e.units,
      e.at,
      e.requestId,
    ),
  /** Ledger entries in [fromMs, toMs), one tenant or all. */
  ledger: (fromMs: number, toMs: number, tenantId?: string) =>
    tenantId
      ? q(
          'SELECT id, tenant_id, key_id, operation, units, at, request_id FROM usage WHERE tenant_id = ? AND at >= ? AND at < ? ORDER BY at, id',
          tenantId,
          fromMs,
          toMs,
        )
      : q(
          'SELECT id, tenant_id, key_id, operation, units, at, request_id FROM usage WHERE at >= ? AND at < ? ORDER BY at, id',
          fromMs,
          toMs,
        ),
};

export const GRANULARITIES = { hour: '%Y-%m-%dT%H:00Z', day: '%Y-%m-%d', month: '%Y-%m' } as const;
export type Granularity = keyof typeof GRANULARITIES;

/** Usage per period, key and operation for one tenant (optionally one key). */
export const usageSummary = (tenantId: string, fromMs: number, toMs: number, granularity: Granularity, keyId?: string) =>
  q(
    `SELECT strftime('${GRANULARITIES[granularity]}', at / 1000, 'unixepoch') AS period, key_id, operation, COUNT(*) AS calls, SUM(units) AS units
     FROM usage WHERE tenant_id = ? AND at >= ? AND at < ?${keyId ? ' AND key_id = ?' : ''}
     GROUP BY period, key_id, operation ORDER BY period, key_id, operation`,
    tenantId,
    fromMs,
    toMs,
    ...(keyId ? [keyId] : []),
  );

export const bind = (db: D1Database, s: Statement) => db.prepare(s.sql).bind(...s.params);

interface LedgerRow {
  id: string;
  tenant_id: string;
  key_id: string;
  operation: Operation;
  units: number;
  at: number;
  request_id: string | null;
}
export const ledgerFromRow = (r: LedgerRow): LedgerEntry => ({
  id: r.id,
  tenantId: r.tenant_id,
  keyId: r.key_id,
  operation: r.operation,
  units: r.units,
  at: r.at,
  requestId: r.request_id,
});

export async function findKey(db: D1Database, id: string): Promise<KeyRecord | undefined> {
  const row = await bind(db, sql.key(id)).first<KeyRow>();
  return row ? keyFromRow(row) : undefined;
}

export async function grantedUnits(db: D1Database, tenantId: string): Promise<number> {
  return (await bind(db, sql.granted(tenantId)).first<{ units: number }>())?.units ?? 0;
}

export async function ledger(db: D1Database, fromMs: number, toMs: number, tenantId?: string): Promise<LedgerEntry[]> {
  const { results } = await bind(db, sql.ledger(fromMs, toMs, tenantId)).all<LedgerRow>();
  return results.map(ledgerFromRow);
}
