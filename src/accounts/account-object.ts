/**
 * @module accounts/account-object
 * `TenantAccount`, the Durable Object of one tenant: the single, strongly consistent place
 * where its prepaid balance is reserved, settled and refunded, where its keys' rate-limit
 * buckets are kept and where its idempotency keys are recorded. One RPC admits a request
 * (rate limit → idempotency → credit reservation), one settles or refunds it. A settled
 * request is charged at once and written to the D1 usage ledger right after, under its
 * ledger id, so a retried write never counts twice; a ledger write that failed is retried
 * by the alarm, and a reservation that was never settled (the request died) is given back
 * after 15 minutes.
 */
import { DurableObject } from 'cloudflare:workers';
import { bind, grantedUnits, type LedgerEntry, sql } from './db.js';
import { type Bucket, type RateDecision, type RatePolicy, takeToken } from './rate-limit.js';
import {
  ABANDONED_AFTER_MS,
  type AdmitRequest,
  type Admission,
  type Balance,
  IDEMPOTENCY_TTL_MS,
  idempotencyResponseKey,
} from './account.js';

const SETTLE_RETRY_MS = 10_000;

type Row = Record<string, SqlStorageValue>;

export class TenantAccount extends DurableObject<Env> {
  private granted: number | undefined;
  private tenantId: string | undefined;
  /** When the alarm is due, once known (undefined: not read yet). */
  private alarmAt: number | null | undefined;
  private flushing: Promise<void> | undefined;
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v);
      CREATE TABLE IF NOT EXISTS reservations (ledger_id TEXT PRIMARY KEY, units INTEGER NOT NULL, state TEXT NOT NULL,
        created_ms INTEGER NOT NULL, release_ms INTEGER NOT NULL, idempotency TEXT, entry TEXT);
      CREATE TABLE IF NOT EXISTS buckets (key_id TEXT PRIMARY KEY, tokens REAL NOT NULL, updated_ms INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS idempotency (key_hash TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, state TEXT NOT NULL,
        ledger_id TEXT NOT NULL, expires_ms INTEGER NOT NULL);
    `);
    this.tenantId = this.meta('tenant') as string | undefined;
  }

  async admit(req: AdmitRequest): Promise<Admission> {
    const now = Date.now();
    this.remember(req.tenantId);
    const rate = this.takeToken(req.keyId, req.rate, now);
    if (!rate.allowed) return { outcome: 'rate-limited', rate };

    if (req.idempotency) {
      this.sql.exec('DELETE FROM idempotency WHERE expires_ms <= ?', now);
      const prior = this.one('SELECT fingerprint, state FROM idempotency WHERE key_hash = ?', req.idempotency.keyHash);
      if (prior) {
        if (prior.fingerprint !== req.idempotency.fingerprint) return { outcome: 'idempotency-conflict', rate };
        if (prior.state === 'running') return { outcome: 'idempotency-in-flight', rate };
        return { outcome: 'replay', rate, keyHash: req.idempotency.keyHash };
      }
    }

    // A grant may have arrived since the grants were last read: read them again before refusing.
    if (req.units > 0 && (this.granted === undefined || this.availableNow() < req.units)) await this.refreshGranted(req.tenantId);
    // From here to the reservation there is no await: the check and the write are one step.
    if (req.units > 0) {
      const available = this.availableNow();
      if (available < req.units) return { outcome: 'insufficient-credit', rate, available, needed: req.units };
    }
    if (req.idempotency) {
      // Another request with this key may have started while we read D1.
      const prior = this.one('SELECT fingerprint, state FROM idempotency WHERE key_hash = ?', req.idempotency.keyHash);
      if (prior)
        return { outcome: prior.fingerprint !== req.idempotency.fingerprint ? 'idempotency-conflict' : 'idempotency-in-flight', rate };
      this.sql.exec(
        "INSERT INTO idempotency (key_hash, fingerprint, state, ledger_id, expires_ms) VALUES (?, ?, 'running', ?, ?)",
        req.idempotency.keyHash,
        req.idempotency.fingerprint,
        req.ledgerId,
        now + IDEMPOTENCY_TTL_MS,
      );
    }
    if (req.units > 0 || req.idempotency) {
      const releaseAt = now + (req.holdMs ?? ABANDONED_AFTER_MS);
      this.sql.exec(
        "INSERT INTO reservations (ledger_id, units, state, created_ms, release_ms, idempotency) VALUES (?, ?, 'held', ?, ?, ?) ON CONFLICT(ledger_id) DO NOTHING",
        req.ledgerId,
        req.units,
        now,
        releaseAt,
        req.idempotency?.keyHash ?? null,
      );
      await this.ensureAlarm(releaseAt);
    }
    return { outcome: 'admitted', rate };
  }

  /**
   * The request succeeded: charge `entry.units` (at most what was reserved) and mark its
   * idempotency key done, at once; the ledger row is written to D1 right after, in the
   * background (`flush` waits for it). Settling twice, or after a refund, does nothing.
   */
  async settle(entry: LedgerEntry): Promise<{ settled: boolean }> {
    const held = this.one("SELECT units, idempotency FROM reservations WHERE ledger_id = ? AND state = 'held'", entry.id);
    if (!held) return { settled: false };
    const units = Math.min(entry.units, Number(held.units));
    this.sql.exec(
      "UPDATE reservations SET units = ?, state = 'settling', entry = ? WHERE ledger_id = ?",
      units,
      JSON.stringify({ ...entry, units }),
      entry.id,
    );
    if (held.idempotency) this.sql.exec("UPDATE idempotency SET state = 'done' WHERE key_hash = ?", held.idempotency);
    this.flush().catch((e: unknown) =>
      console.error(JSON.stringify({ tenant: entry.tenantId, error: `ledger flush failed: ${String(e)}` })),
    );
    return { settled: true };
  }

  /** Write every settled entry not yet in the D1 ledger, and wait for it. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (!this.one("SELECT 1 AS x FROM reservations WHERE state = 'settling' LIMIT 1")) return;
    this.flushing = this.writeLedger().finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  /** The request's answer is stored: its Idempotency-Key replays it from now on (the reservation stays held). */
  async idempotencyDone(ledgerId: string): Promise<void> {
    const held = this.one("SELECT idempotency FROM reservations WHERE ledger_id = ? AND state = 'held'", ledgerId);
    if (held?.idempotency) this.sql.exec("UPDATE idempotency SET state = 'done' WHERE key_hash = ?", held.idempotency);
  }

  /** The request failed: give its reservation back and forget its idempotency key. */
  async refund(ledgerId: string): Promise<{ refunded: boolean }> {
    const held = this.one("SELECT idempotency FROM reservations WHERE ledger_id = ? AND state = 'held'", ledgerId);
    if (!held) return { refunded: false };
    this.sql.exec('DELETE FROM reservations WHERE ledger_id = ?', ledgerId);
    if (held.idempotency) this.sql.exec("DELETE FROM idempotency WHERE key_hash = ? AND state = 'running'", held.idempotency);
    return { refunded: true };
  }

  /** The balance once every settled entry is in the ledger. */
  async balance(tenantId: string): Promise<Balance> {
    this.remember(tenantId);
    await this.flush();
    await this.refreshGranted(tenantId);
    return { granted: this.granted ?? 0, spent: this.spent(), held: this.held(), available: this.availableNow() };
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const now = Date.now();
    await this.flush();
    for (const r of this.sql.exec("SELECT ledger_id FROM reservations WHERE state = 'held' AND release_ms <= ?", now).toArray()) {
      await this.refund(String(r.ledger_id));
    }
    const expired = this.sql.exec('SELECT key_hash FROM idempotency WHERE expires_ms <= ?', now).toArray();
    if (expired.length > 0 && this.tenantId) {
      await this.env.DATA.delete(expired.map((r) => idempotencyResponseKey(this.tenantId!, String(r.key_hash))));
      this.sql.exec('DELETE FROM idempotency WHERE expires_ms <= ?', now);
    }
    const nextRelease = this.one("SELECT MIN(release_ms) AS t FROM reservations WHERE state = 'held'")?.t;
    const settling = Number(this.one("SELECT COUNT(*) AS n FROM reservations WHERE state = 'settling'")?.n ?? 0);
    const firstExpiry = this.one('SELECT MIN(expires_ms) AS t FROM idempotency')?.t;
    const due = [
      typeof nextRelease === 'number' ? nextRelease : Infinity,
      settling > 0 ? now + SETTLE_RETRY_MS : Infinity,
      typeof firstExpiry === 'number' ? firstExpiry : Infinity,
    ];
    const next = Math.min(...due);
    if (Number.isFinite(next)) await this.ensureAlarm(Math.max(next, now + 1000));
  }

  /**
   * Settled entries into the D1 ledger in one batch, then off the reservations and into
   * `spent`. The ledger ids make the write idempotent; a failed batch is retried by the alarm.
   */
  private async writeLedger(): Promise<void> {
    const rows = this.sql.exec("SELECT ledger_id, entry FROM reservations WHERE state = 'settling'").toArray();
    const entries = rows.map((r) => JSON.parse(String(r.entry)) as LedgerEntry);
    try {
      await this.env.DB.batch(entries.map((e) => bind(this.env.DB, sql.record(e))));
    } catch (e) {
      console.error(JSON.stringify({ tenant: this.tenantId, entries: entries.length, error: `ledger write failed: ${String(e)}` }));
      await this.ensureAlarm(Date.now() + SETTLE_RETRY_MS);
      return;
    }
    for (const e of entries) {
      const row = this.one("SELECT units FROM reservations WHERE ledger_id = ? AND state = 'settling'", e.id);
      if (!row) continue;
      this.sql.exec('DELETE FROM reservations WHERE ledger_id = ?', e.id);
      this.setMeta('spent', this.spent() + Number(row.units));
    }
  }

  private takeToken(keyId: string, policy: RatePolicy, now: number): RateDecision {
    const row = this.one('SELECT tokens, updated_ms FROM buckets WHERE key_id = ?', keyId);
    const bucket: Bucket | undefined = row ? { tokens: Number(row.tokens), updatedMs: Number(row.updated_ms) } : undefined;
    const decision = takeToken(policy, bucket, now);
    this.sql.exec(
      'INSERT INTO buckets (key_id, tokens, updated_ms) VALUES (?, ?, ?) ON CONFLICT(key_id) DO UPDATE SET tokens = excluded.tokens, updated_ms = excluded.updated_ms',
      keyId,
      decision.bucket.tokens,
      decision.bucket.updatedMs,
    );
    return decision;
  }

  private async refreshGranted(tenantId: string): Promise<void> {
    this.granted = await grantedUnits(this.env.DB, tenantId);
  }

  /** Granted (as last read) minus spent minus held. */
  private availableNow(): number {
    return (this.granted ?? 0) - this.spent() - this.held();
  }

  private spent = () => Number(this.meta('spent') ?? 0);
  private held = () => Number(this.one('SELECT COALESCE(SUM(units), 0) AS u FROM reservations')?.u ?? 0);

  private remember(tenantId: string) {
    if (this.tenantId === tenantId) return;
    if (this.tenantId && this.tenantId !== tenantId) throw new Error(`account object of ${this.tenantId} asked about ${tenantId}`);
    this.tenantId = tenantId;
    this.setMeta('tenant', tenantId);
  }

  /** Make sure the alarm runs no later than `at`. */
  private async ensureAlarm(at: number) {
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  private one(query: string, ...params: SqlStorageValue[]): Row | undefined {
    return this.sql.exec(query, ...params).toArray()[0];
  }
  private meta(k: string): SqlStorageValue | undefined {
    return this.one('SELECT v FROM meta WHERE k = ?', k)?.v;
  }
  private setMeta(k: string, v: SqlStorageValue) {
    this.sql.exec('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v', k, v);
  }
}
