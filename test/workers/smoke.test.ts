import { beforeAll, describe, expect, it } from 'vitest';
import { call, fixture, form, seedModels } from './fixtures.js';

describe('smoke', () => {
  beforeAll(seedModels);
  it('verifies', async () => {
    const a = await fixture('faces/bbt/amy/amy1.png');
    const b = await fixture('faces/bbt/amy/amy2.png');
    const res = await call('/v1/verify', { method: 'POST', body: form({ a, b }) });
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(200);
  });
});
