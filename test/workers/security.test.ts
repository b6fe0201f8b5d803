/**
 * Every operation the OpenAPI document says takes an API key refuses a request without one,
 * and one with an unknown key, with a 401 problem: routes declare their own middleware, so
 * a route whose `security` is not backed by the key check fails here. Every /v1 operation
 * either takes a key or is listed below as signed another way.
 */
import { describe, expect, it } from 'vitest';
import { callAs, expectProblem, seedModels } from './fixtures.js';

interface Operation {
  security?: Record<string, string[]>[];
  parameters?: { in: string; name: string; example?: unknown; schema?: { example?: unknown } }[];
}
type Document = { paths: Record<string, Record<string, Operation>> };

/** /v1 operations that take no API key, and what authenticates them instead. */
const KEYLESS: Record<string, string> = {
  'POST /v1/hooks/{source}': "the source's Standard-Webhooks signature (test/workers/jobs.test.ts)",
};

const UNKNOWN_KEY = `xfv_local_0123456789abcdef_${'f'.repeat(64)}`;

/** The document's operations, with their path parameters filled in from its examples. */
async function operations() {
  const doc = (await (await callAs(null, '/openapi.json')).json()) as Document;
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const url = path.replace(/\{([^}]+)\}/g, (_, name: string) => {
        const p = op.parameters?.find((q) => q.in === 'path' && q.name === name);
        return encodeURIComponent(String(p?.example ?? p?.schema?.example ?? 'x'));
      });
      const secured = op.security?.some((s) => 'bearerAuth' in s) ?? false;
      return { name: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), url, secured };
    }),
  );
}

describe('every secured operation', () => {
  it('answers 401 unauthorized without a key and with an unknown key', async () => {
    await seedModels();
    const secured = (await operations()).filter((op) => op.secured);
    expect(secured.length).toBeGreaterThanOrEqual(13);
    for (const op of secured) {
      for (const key of [null, UNKNOWN_KEY]) {
        const res = await callAs(key, op.url, { method: op.method });
        const body = await expectProblem(res, 401, 'unauthorized');
        expect(res.headers.get('www-authenticate'), `${op.name} with key ${key}`).toMatch(/^Bearer realm="xfv"/);
        expect(body.instance, op.name).toBe(new URL(op.url, 'http://x').pathname);
      }
    }
  });

  it('covers every /v1 operation but those signed another way', async () => {
    const open = (await operations()).filter((op) => op.url.startsWith('/v1/') && !op.secured).map((op) => op.name);
    expect(open.sort()).toEqual(Object.keys(KEYLESS).sort());
  });
});
