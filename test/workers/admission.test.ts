/**
 * Admission control in workerd (worker/admission, api/middleware/image-slot), through the Worker with small limits
 * passed as vars: image slots and their queue (503 `busy` with Retry-After beyond it,
 * slots freed after errors), and an explanation computing bases hands its image slot back,
 * so a cached pair is answered while it runs and a second new pair is refused when the
 * gradient queue is full.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { admissionLoad } from '../../src/worker/admission.js';
import worker from '../../src/index.js';
import { call, fixture, cropForm, form, seedModels, testKey } from './fixtures.js';

const ctx = { waitUntil: () => undefined, passThroughOnException: () => undefined, props: {} } as unknown as ExecutionContext;
const send = async (vars: Record<string, string>, path: string, body: FormData): Promise<Response> => {
  const headers = { authorization: `Bearer ${(await testKey()).key}` };
  return worker.fetch(new Request(`http://xfv.test${path}`, { method: 'POST', body, headers }), { ...env, ...vars }, ctx);
};

describe('admission control', () => {
  const faces: Record<string, Uint8Array> = {};
  let photoA: Uint8Array;
  let photoB: Uint8Array;
  beforeAll(async () => {
    await seedModels();
    photoA = await fixture('faces/photos/single/harington_1.jpg');
    photoB = await fixture('faces/photos/single/harington_2.jpg');
    for (const f of ['amy/amy1', 'raj/raj2', 'penny/penny1', 'howard/howard1', 'leonard/leonard1', 'sheldon/sheldon1'])
      faces[f] = await fixture(`faces/bbt/${f}.png`);
  });

  it('runs IMAGE_CONCURRENCY requests, queues IMAGE_QUEUE, refuses the rest with 503 busy', async () => {
    const vars = { IMAGE_CONCURRENCY: '1', IMAGE_QUEUE: '1' };
    const pair = () => cropForm({ a: faces['amy/amy1']!, b: faces['raj/raj2']! });
    // Photos hold their slot for a second or more (detection), far longer than the spread
    // in when the four requests reach the gate (each is authorised first): a crop pair
    // could finish before the last one arrived, and free its slot.
    const photos = () => form({ a: photoA, b: photoB });
    const answers = await Promise.all([0, 1, 2, 3].map(() => send(vars, '/v1/verify', photos())));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 503, 503]);
    const refused = answers.find((r) => r.status === 503)!;
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { type: string }).type).toBe('/problems/busy');
    // A failed request frees its slot too.
    const bad = await send(vars, '/v1/verify', cropForm({ a: new Uint8Array([1, 2, 3]), b: faces['raj/raj2']! }));
    expect(bad.status).toBe(415);
    expect((await send(vars, '/v1/verify', pair())).status).toBe(200);
  });

  it('prepares PHOTO_CONCURRENCY photos at a time inside the image slots; all are answered', async () => {
    // 3 MP photos: each goes out to the image service (real I/O), so without the photo gate
    // the four requests' preparations overlap. Both photos of a pair are that large, so a
    // request holds its image slot far longer than the spread in when the four pass their
    // account's admission (one after another, on the thread the photos' work also takes;
    // with one large photo a loaded machine once let the first request finish before the
    // fourth arrived). Six requests for four slots: when the first ends early, the fifth
    // and sixth take its slot while the others still hold theirs (a loaded run once peaked
    // at 3 of 4 with four requests). Each configuration has gates (and peaks) of its own,
    // not shared with other tests.
    const bigA = await fixture('phone/2000x1500.jpg/photos/single/harington_1.jpg');
    const bigB = await fixture('phone/2000x1500.jpg/photos/single/harington_2.jpg');
    const run = async (photoConcurrency: string) => {
      const vars = { IMAGE_CONCURRENCY: '4', IMAGE_QUEUE: '3', PHOTO_CONCURRENCY: photoConcurrency };
      const answers = await Promise.all([0, 1, 2, 3, 4, 5].map(() => send(vars, '/v1/verify', form({ a: bigA, b: bigB }))));
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
      return admissionLoad();
    };
    const gated = await run('1');
    // Four requests held image slots at once (all there are), but one photo was prepared at a time.
    expect(gated.images.peakRunning).toBe(4);
    expect(gated.photos.peakRunning).toBe(1);
    expect(gated.photos.peakWaiting).toBeGreaterThanOrEqual(1);
    expect(gated.photos).toMatchObject({ running: 0, waiting: 0 });
    // With a wider gate the same requests prepare their photos side by side.
    expect((await run('4')).photos.peakRunning).toBeGreaterThanOrEqual(2);
  });

  it('serves requests that wait in the queue (each in its own request context)', async () => {
    // Twelve at once through the Worker's own entry: 4 run, 8 wait for a slot (and all
    // share one engine load and one wasm queue). A waiter that awaited another request's
    // promise would be cancelled or fault on cross-request I/O; waiters poll on their own
    // timers instead (engine/shared-wait).
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        call('/v1/verify', { method: 'POST', body: cropForm({ a: faces['amy/amy1']!, b: faces['raj/raj2']! }) }),
      ),
    );
    const bodies = await Promise.all(answers.map((r) => r.text()));
    expect(
      answers.map((r) => r.status),
      bodies.find((b) => !b.startsWith('{')),
    ).toEqual(Array(12).fill(200));
  });

  it('answers a cached pair while a new one computes; refuses a new pair when the gradient queue is full', async () => {
    const vars = { IMAGE_CONCURRENCY: '1', GRADIENT_QUEUE: '0' };
    // The paper's one-run bases: admission is the same for every mode, and these are 4× quicker.
    const paper = { centre: 'false', smooth: 'false' };
    const cachedPair = () => cropForm({ a: faces['amy/amy1']!, b: faces['raj/raj2']!, ...paper });
    const first = await send(vars, '/v1/explain', cachedPair());
    expect(first.status, await first.clone().text()).toBe(200);

    let newDone = false;
    const computing = send(
      vars,
      '/v1/explain',
      cropForm({ a: faces['penny/penny1']!, b: faces['howard/howard1']!, store: 'false', ...paper }),
    ).finally(() => (newDone = true));
    // The only image slot is handed back once the new pair reaches the gradient graph.
    const cached = await send(vars, '/v1/explain', cachedPair());
    expect(cached.status).toBe(200);
    expect(((await cached.json()) as { explanation: { basis: unknown } }).explanation.basis).toEqual({ a: 'hit', b: 'hit' });
    expect(newDone).toBe(false);

    const refused = await send(
      vars,
      '/v1/explain',
      cropForm({ a: faces['leonard/leonard1']!, b: faces['sheldon/sheldon1']!, store: 'false', ...paper }),
    );
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('10');
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/new gradient bases/);
    expect(newDone).toBe(false);
    expect((await computing).status).toBe(200);
  });
});
