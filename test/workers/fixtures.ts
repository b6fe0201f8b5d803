/**
 * Helpers for the workers tests: seed the built models into the miniflare R2 bucket and
 * fetch test faces through the Node-side FIXTURES service.
 */
import { env, exports } from 'cloudflare:workers';
import { expect } from 'vitest';
import { bind, sql } from '../../src/accounts/db.js';
import { generateKey, type Scope } from '../../src/accounts/keys.js';

/**
 * GET from the Node-side FIXTURES service. The loopback connection to it can drop while
 * the isolate is busy compiling the ORT wasm (workerd reports "Network connection
 * lost"), so a dropped connection is retried.
 */
export async function fixtureResponse(path: string): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await env.FIXTURES.fetch(`http://fixtures/${path}`);
    } catch (e) {
      if (attempt >= 3 || !String(e).includes('Network connection lost')) throw e;
    }
  }
}

export async function fixture(path: string): Promise<Uint8Array> {
  const res = await fixtureResponse(path);
  if (!res.ok) throw new Error(`fixture ${path} is missing (run npm run models; faces need ../shared/faces)`);
  return new Uint8Array(await res.arrayBuffer());
}

export async function seedModels(): Promise<void> {
  const manifestBytes = await fixture('models/manifest.json');
  const manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as { files: Record<string, { path: string }> };
  for (const f of Object.values(manifest.files)) {
    // The Worker uses the int8 model and the gradient graph, not the fp32 forward.
    if (!f.path.endsWith('face-resnet.onnx')) await env.MODELS.put(`models/${f.path}`, await fixture(`models/${f.path}`));
  }
  await env.MODELS.put('models/manifest.json', manifestBytes);
}

export interface TestKey {
  key: string;
  id: string;
  tenant: string;
}

/**
 * A tenant (created if new) with `units` of credit granted now, and a new API key of it.
 * Straight into D1 with the same statements the admin CLI runs.
 */
export async function createKey(
  tenant: string,
  { scopes = ['verify', 'explain'], units = 0, rate }: { scopes?: Scope[]; units?: number; rate?: { quota: number; window: number } } = {},
): Promise<TestKey> {
  const now = Date.now();
  const { key, id, hash } = await generateKey('local');
  const statements = [
    sql.createTenant(tenant, tenant, now),
    sql.createKey({
      id,
      tenantId: tenant,
      env: 'local',
      hash,
      scopes,
      name: 'test',
      rateQuota: rate?.quota ?? null,
      rateWindow: rate?.window ?? null,
      createdAt: now,
    }),
    ...(units > 0 ? [sql.grant(crypto.randomUUID(), tenant, units, 'test', now)] : []),
  ];
  await env.DB.batch(statements.map((st) => bind(env.DB, st)));
  return { key, id, tenant };
}

let defaultKey: Promise<TestKey> | undefined;
/** The key `call` uses: tenant `test`, every scope, ample credit and rate. */
export const testKey = () =>
  (defaultKey ??= createKey('test', {
    scopes: ['verify', 'explain', 'jobs', 'admin'],
    units: 1_000_000_000,
    rate: { quota: 1_000_000, window: 1 },
  }));

/** A request to the Worker with the default test key (unless the request sets Authorization). */
export async function call(path: string, init?: RequestInit): Promise<Response> {
  const headers = new Headers(init?.headers);
  if (!headers.has('authorization')) headers.set('authorization', `Bearer ${(await testKey()).key}`);
  return exports.default.fetch(new Request(`http://xfv.test${path}`, { ...init, headers }));
}

/** A request with `key` (or none). */
export function callAs(key: TestKey | string | null, path: string, init?: RequestInit): Promise<Response> {
  const headers = new Headers(init?.headers);
  if (key) headers.set('authorization', `Bearer ${typeof key === 'string' ? key : key.key}`);
  return exports.default.fetch(new Request(`http://xfv.test${path}`, { ...init, headers }));
}

/** Assert `res` is the RFC 9457 problem `kind` with `status`, carrying its request id; its body. */
export async function expectProblem(res: Response, status: number, kind: string) {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(text);
  expect(body.type).toBe(`/problems/${kind}`);
  expect(body.status).toBe(status);
  expect(typeof body.detail).toBe('string');
  expect(body.requestId).toBe(res.headers.get('x-request-id'));
  return body;
}

/** A form of aligned face crops (the BBT faces are crops: `input` is `aligned-crop` unless given). */
export const cropForm = (fields: Record<string, Uint8Array | string>) => form({ input: 'aligned-crop', ...fields });

export function form(fields: Record<string, Uint8Array | string>): FormData {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, typeof v === 'string' ? v : new File([new Uint8Array(v)], `${k}.png`));
  return fd;
}
