/**
 * @module cli/keys
 * `npm run keys -- <command>`: tenants, API keys and credit in D1 (local by default,
 * `--remote` for the deployed database, `--persist-to DIR` for another local state folder).
 *
 *   create  --tenant acme --scopes verify,explain [--name ci] [--rate 100/60] [--env local]
 *   list    [--tenant acme]
 *   revoke  <key id>
 *   grant   --tenant acme --units 1000 [--note "November"]
 *   tenant  --tenant acme [--name "Acme Ltd"] [--customer cus_123]
 *   hook    --source crm --key <key id> [--callback https://…]   an inbound webhook source
 *           (POST /v1/hooks/crm) whose jobs run as that key; prints its signing secret
 *   dev     what `npm start` runs: migrations, the `dev` tenant with credit, a dev key
 *           (kept in .wrangler/dev-key.txt, printed) and .dev.vars with a fresh secret
 *           [--rate 1000/60: the dev key's rate limit when it is made]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type KeyRecord, keyFromRow, sql } from '../accounts/db.js';
import { generateKey, KEY_ENVS, type KeyEnv, parseKey, parseScopes, SCOPES, TENANT_ID } from '../accounts/keys.js';
import { execute, migrate, REPO_ROOT, type Target, targetFromArgs } from './d1.js';
import { hookSql, jobSql } from '../jobs/db.js';
import { newWebhookSecret } from '../jobs/webhooks.js';

const argv = process.argv.slice(2);
const [command, ...rest] = argv;
const target = targetFromArgs(argv);

function option(name: string): string | undefined {
  const at = rest.indexOf(`--${name}`);
  return at >= 0 ? rest[at + 1] : undefined;
}
function required(name: string): string {
  const v = option(name);
  if (!v) fail(`--${name} is required`);
  return v;
}
function fail(message: string): never {
  console.error(`keys: ${message}`);
  process.exit(2);
}
function tenantArg(): string {
  const tenant = required('tenant');
  if (!TENANT_ID.test(tenant)) fail(`tenant "${tenant}" must be lowercase letters, digits and dashes (at most 40)`);
  return tenant;
}

/** Create `tenant` when new and a key for it; the key is shown once. */
async function createKey(t: Target, tenant: string, scopes: KeyRecord['scopes'], env: KeyEnv, name: string | null, rate?: string) {
  const m = rate ? /^(\d+)\/(\d+)$/.exec(rate) : undefined;
  if (rate && !m) fail('--rate is requests/seconds, e.g. 100/60');
  const now = Date.now();
  const { key, id, hash } = await generateKey(env);
  execute(
    [
      sql.createTenant(tenant, tenant, now),
      sql.createKey({
        id,
        tenantId: tenant,
        env,
        hash,
        scopes,
        name,
        rateQuota: m ? Number(m[1]) : null,
        rateWindow: m ? Number(m[2]) : null,
        createdAt: now,
      }),
    ],
    t,
  );
  return { key, id };
}

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().slice(0, 19).replace('T', ' '));

function list(t: Target, tenant?: string) {
  const [rows] = execute([sql.keys(tenant)], t);
  const keys = (rows ?? []).map((r) => keyFromRow(r as never));
  console.log(['id', 'tenant', 'env', 'scopes', 'name', 'rate', 'created', 'last used', 'revoked'].join('\t'));
  for (const k of keys) {
    const rate = k.rateQuota ? `${k.rateQuota}/${k.rateWindow}` : 'default';
    console.log(
      [k.id, k.tenantId, k.env, k.scopes.join(','), k.name ?? '-', rate, iso(k.createdAt), iso(k.lastUsedAt), iso(k.revokedAt)].join('\t'),
    );
  }
}

/** The development key's rate limit: a person trying the API by hand never meets it. */
const DEV_RATE = '1000/60';

/** npm start: everything a newcomer needs to call the local API, kept across restarts. */
async function dev(t: Target) {
  const devVars = join(REPO_ROOT, '.dev.vars');
  const current = existsSync(devVars) ? readFileSync(devVars, 'utf8') : '';
  if (!/^URL_SIGNING_SECRET=.{32,}$/m.test(current)) {
    const line = `URL_SIGNING_SECRET=${randomBytes(32).toString('hex')}\n`;
    writeFileSync(devVars, current && !current.endsWith('\n') ? `${current}\n${line}` : current + line, { mode: 0o600 });
    console.log('keys: wrote a URL_SIGNING_SECRET to .dev.vars');
  }
  migrate(t);
  const keyFile = t.persistTo ? join(t.persistTo, 'dev-key.txt') : join(REPO_ROOT, '.wrangler', 'dev-key.txt');
  const saved = existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : '';
  const parsed = parseKey(saved);
  const [rows] = parsed ? execute([sql.key(parsed.id)], t) : [[]];
  const live = rows?.[0] && (rows[0] as { revoked_at: number | null }).revoked_at === null;
  let key = saved;
  if (!live) {
    key = (await createKey(t, 'dev', [...SCOPES], 'local', 'npm start', option('rate') ?? DEV_RATE)).key;
    execute([sql.grant(randomUUID(), 'dev', 1_000_000, 'npm start: development credit', Date.now())], t);
    mkdirSync(dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  }
  const [secrets = []] = execute([jobSql.secrets('dev', Date.now())], t);
  let deliverySecret = (secrets[0] as { secret: string } | undefined)?.secret;
  if (!deliverySecret) {
    deliverySecret = newWebhookSecret();
    execute([jobSql.addSecret('dev', deliverySecret, Date.now())], t);
  }
  console.log(`keys: development tenant "dev", API key (also in ${keyFile.replace(`${REPO_ROOT}/`, '')}):\n\n  ${key}\n`);
  console.log(`keys: its webhook deliveries are signed with (GET /v1/webhook-secret):\n\n  ${deliverySecret}\n`);
  // The key rides in the fragment, which the browser never sends: the page keeps it locally.
  console.log(`keys: the demo page, signed in with this key (once wrangler dev is up):\n\n  http://127.0.0.1:8787/#key=${key}\n`);
}

async function main() {
  switch (command) {
    case 'create': {
      const tenant = tenantArg();
      const scopes = parseScopes(required('scopes'));
      const env = (option('env') ?? (target.remote ? 'live' : 'local')) as KeyEnv;
      if (!KEY_ENVS.includes(env)) fail(`--env is one of ${KEY_ENVS.join(', ')}`);
      const { key, id } = await createKey(target, tenant, scopes, env, option('name') ?? null, option('rate'));
      console.log(`key ${id} for tenant ${tenant} (${scopes.join(',')}); shown only now:\n${key}`);
      return;
    }
    case 'list':
      return list(target, option('tenant'));
    case 'revoke': {
      const id = rest.find((a) => /^[0-9a-f]{16}$/.test(a)) ?? fail('revoke <16-hex key id> (see list)');
      const [, [row] = []] = execute([sql.revokeKey(id, Date.now()), sql.key(id)], target);
      if (!row) fail(`no key ${id}`);
      console.log(`key ${id} revoked at ${iso((row as { revoked_at: number }).revoked_at)}`);
      return;
    }
    case 'grant': {
      const tenant = tenantArg();
      const units = Number(required('units'));
      if (!Number.isInteger(units) || units === 0) fail('--units is a non-zero integer (negative to take credit back)');
      const [, , [total] = []] = execute(
        [
          sql.createTenant(tenant, tenant, Date.now()),
          sql.grant(randomUUID(), tenant, units, option('note') ?? null, Date.now()),
          sql.granted(tenant),
        ],
        target,
      );
      console.log(`granted ${units} units to ${tenant}; ${(total as { units: number }).units} granted in all`);
      return;
    }
    case 'tenant': {
      const tenant = tenantArg();
      execute([sql.createTenant(tenant, option('name') ?? tenant, Date.now(), option('customer') ?? null)], target);
      if (option('customer') || option('name'))
        execute([sql.updateTenant(tenant, option('name') ?? null, option('customer') ?? null)], target);
      console.log(JSON.stringify(execute([sql.tenant(tenant)], target)[0]?.[0]));
      return;
    }
    case 'hook': {
      const source = required('source');
      if (!TENANT_ID.test(source)) fail(`source "${source}" must be lowercase letters, digits and dashes (at most 40)`);
      const keyId = required('key');
      const [[key] = []] = execute([sql.key(keyId)], target);
      if (!key) fail(`no key ${keyId} (see list)`);
      const secret = newWebhookSecret();
      const tenantId = (key as { tenant_id: string }).tenant_id;
      execute([hookSql.create({ id: source, tenantId, keyId, secret, callbackUrl: option('callback') ?? null, now: Date.now() })], target);
      console.log(`source ${source} of tenant ${tenantId}: POST /v1/hooks/${source}, events signed with\n${secret}`);
      return;
    }
    case 'dev':
      return dev(target);
    default:
      fail(`unknown command "${command ?? ''}": create, list, revoke, grant, tenant or dev (src/cli/keys.ts)`);
  }
}

await main();
