/**
 * @module cli/usage-export
 * `npm run usage:export -- --from 2026-11-01 --to 2026-12-01 [--tenant acme] [--remote] [--out events.jsonl]`:
 * the usage ledger in [from, to) as billing meter events in Stripe's shape, one JSON object
 * per line (accounts/meter-events), each with its ledger id as `identifier` so sending the
 * file twice bills once. The customer is the tenant's billing_customer, or its id.
 */
import { writeFileSync } from 'node:fs';
import { ledgerFromRow, sql } from '../accounts/db.js';
import { meterEvents } from '../accounts/meter-events.js';
import { execute, targetFromArgs } from './d1.js';

const argv = process.argv.slice(2);
const option = (name: string) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : undefined;
};
const date = (name: string, fallback: number) => {
  const text = option(name);
  const ms = text ? Date.parse(text) : fallback;
  if (!Number.isFinite(ms)) {
    console.error(`usage:export: --${name} is not a date: ${text}`);
    process.exit(2);
  }
  return ms;
};
const now = new Date();
const from = date('from', Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
const to = date('to', now.getTime() + 1);

const [rows = [], tenants = []] = execute([sql.ledger(from, to, option('tenant')), sql.tenants()], targetFromArgs(argv));
const customers = new Map((tenants as { id: string; billing_customer: string | null }[]).map((t) => [t.id, t.billing_customer ?? t.id]));
const events = meterEvents(
  rows.map((r) => ledgerFromRow(r as never)),
  (tenant) => customers.get(tenant) ?? tenant,
);
const text = events.map((e) => JSON.stringify(e)).join('\n') + (events.length ? '\n' : '');
const out = option('out');
if (out) {
  writeFileSync(out, text);
  const units = events.reduce((s, e) => s + Number(e.payload.value), 0);
  console.error(
    `usage:export: ${events.length} events, ${units} units, ${new Date(from).toISOString()} – ${new Date(to).toISOString()} → ${out}`,
  );
} else process.stdout.write(text);
