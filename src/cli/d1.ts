/**
 * @module cli/d1
 * Run the accounts statements (src/accounts/db.ts) against D1 from Node with wrangler:
 * the embedded local database under `.wrangler/state` (or `--persist-to DIR`), or the
 * deployed one with `--remote`. Parameters are written into the SQL as literals (numbers,
 * NULL, strings with quotes doubled): `wrangler d1 execute` takes no bound parameters.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqlValue, Statement } from '../accounts/db.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DATABASE = 'xfv-accounts';

export interface Target {
  remote: boolean;
  /** Local state folder (wrangler's --persist-to); default `.wrangler/state`. */
  persistTo?: string;
}

/** `--remote` and `--persist-to DIR` from argv. */
export function targetFromArgs(argv: readonly string[]): Target {
  const at = argv.indexOf('--persist-to');
  return { remote: argv.includes('--remote'), persistTo: at >= 0 ? argv[at + 1] : undefined };
}

function literal(v: SqlValue): string {
  if (v === null) return 'NULL';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`not a finite number: ${v}`);
    return String(v);
  }
  return `'${v.replace(/'/g, "''")}'`;
}

/** A statement with its `?` parameters written in as literals (our SQL has no `?` of its own). */
export function inline({ sql, params }: Statement): string {
  let i = 0;
  const text = sql.replace(/\?/g, () => {
    if (i >= params.length) throw new Error(`too few parameters for: ${sql}`);
    return literal(params[i++]!);
  });
  if (i !== params.length) throw new Error(`too many parameters for: ${sql}`);
  return text;
}

function wrangler(args: string[], target: Target): string {
  const where = target.remote ? ['--remote'] : ['--local', ...(target.persistTo ? ['--persist-to', target.persistTo] : [])];
  return execFileSync(join(REPO_ROOT, 'node_modules', '.bin', 'wrangler'), [...args, ...where], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' },
    maxBuffer: 256 * 1024 * 1024,
  });
}

/** Apply the migrations under migrations/ that the database has not seen. */
export function migrate(target: Target): void {
  wrangler(['d1', 'migrations', 'apply', DATABASE], target);
}

/** Run statements in one call; the rows of each. */
export function execute<Row = Record<string, unknown>>(statements: readonly Statement[], target: Target): Row[][] {
  const out = wrangler(['d1', 'execute', DATABASE, '--json', '--command', statements.map(inline).join(';\n')], target);
  const parsed = JSON.parse(out) as { results: Row[]; success: boolean }[];
  return parsed.map((r) => r.results);
}
