/**
 * Clients that hang up mid-request give their admission slots back. Against `wrangler dev`
 * with a small gate (2 running, 4 waiting), rounds of requests are abandoned by their
 * clients while valid ones keep coming: bodies cut off half way (the upload never ends)
 * and photo verifications aborted while they run or wait. After each round the isolate's
 * gate (`/v1/models` runtime.admission) is empty again within seconds, long before the
 * 60 s lease reclaim, and a full gate's worth of valid requests all answer 200.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multipart } from '../../bench/lib/multipart.js';
import { type DevServer, startWranglerDev } from '../../bench/lib/wrangler-dev.js';
import { FACES_DIR } from '../../eval/lib/faces.js';

let server: DevServer;
const crops = multipart(readFileSync(join(FACES_DIR, 'bbt/amy/amy1.png')), readFileSync(join(FACES_DIR, 'bbt/amy/amy2.png')));
const photos = multipart(
  readFileSync(join(FACES_DIR, 'photos/single/obama_1.jpg')),
  readFileSync(join(FACES_DIR, 'photos/single/obama_3.jpg')),
  'photo',
);

beforeAll(async () => {
  server = await startWranglerDev(8793, { vars: { IMAGE_CONCURRENCY: '2', IMAGE_QUEUE: '4' } });
});

afterAll(async () => {
  await server?.stop();
});

const verify = (body: { body: Buffer; type: string }, signal?: AbortSignal) =>
  fetch(`${server.url}/v1/verify`, {
    method: 'POST',
    headers: { 'content-type': body.type, ...server.auth },
    body: new Uint8Array(body.body),
    signal,
  });

/** A verify whose upload stops half way and is then abandoned by its client. */
function cutUpload(signal: AbortSignal): Promise<unknown> {
  const half = new Uint8Array(photos.body.subarray(0, photos.body.length >> 1));
  let sent = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(half);
      }
      // …and nothing more: the client hangs up with the body unfinished.
    },
  });
  return fetch(`${server.url}/v1/verify`, {
    method: 'POST',
    headers: { 'content-type': photos.type, 'content-length': String(photos.body.length), ...server.auth },
    body,
    signal,
    duplex: 'half',
  } as RequestInit).catch((e: unknown) => e);
}

async function admission(): Promise<{ running: number; waiting: number }> {
  const res = await fetch(`${server.url}/v1/models`, { headers: server.auth, signal: AbortSignal.timeout(30_000) });
  const { running, waiting } = ((await res.json()) as { runtime: { admission: { images: { running: number; waiting: number } } } }).runtime
    .admission.images;
  return { running, waiting };
}

describe('client hang-ups', () => {
  it('give their slots back: the gate empties within seconds after each round, and a full gate of valid requests answers 200', async () => {
    expect((await verify(crops)).status).toBe(200);
    for (let round = 0; round < 3; round++) {
      const hangUp = new AbortController();
      const abandoned = [
        ...Array.from({ length: 3 }, () => cutUpload(hangUp.signal)),
        ...Array.from({ length: 3 }, () => verify(photos, hangUp.signal).catch((e: unknown) => e)),
      ];
      // Valid requests at the same time: each is answered, or refused as busy with Retry-After.
      const valid = Array.from({ length: 3 }, () => verify(crops, AbortSignal.timeout(60_000)));
      await new Promise((r) => setTimeout(r, 700));
      hangUp.abort();
      await Promise.all(abandoned);
      for (const res of await Promise.all(valid)) {
        expect([200, 503]).toContain(res.status);
        if (res.status === 503) expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        await res.arrayBuffer();
      }
      const t0 = performance.now();
      let load = await admission();
      while ((load.running > 0 || load.waiting > 0) && performance.now() - t0 < 20_000) {
        await new Promise((r) => setTimeout(r, 250));
        load = await admission();
      }
      expect(load, `round ${round}: gate still held ${Math.round(performance.now() - t0)} ms after the hang-ups`).toEqual({
        running: 0,
        waiting: 0,
      });
      console.log(`round ${round}: gate empty ${Math.round(performance.now() - t0)} ms after the clients hung up`);
    }
    // A full gate (2 running + 4 waiting) of valid requests: all answered, none busy.
    const statuses = await Promise.all(Array.from({ length: 6 }, () => verify(crops, AbortSignal.timeout(60_000)).then((r) => r.status)));
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
  });
});
