/**
 * The Images binding adapter (src/worker/image-service): an input the service rejects is the
 * client's 422; the service failing (or the Worker that calls it unreachable) is retried
 * once, then a 503 with Retry-After.
 */
import { encode as encodePng } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { type ShrinkAttempt, imagesShrinker, shrinkOnce } from '../../src/worker/image-service.js';
import { ProblemError } from '../../src/problems/problem.js';
import { ImageError } from '../../src/image/index.js';

const png = encodePng({ width: 2, height: 2, data: new Uint8Array(12), channels: 3 });
/** What the upload's head declared (the Images binding ignores it). */
const HEADER = { format: 'png', width: 4, height: 4 } as const;

/** A stand-in Images binding whose transforms fail with `failures` in turn, then answer `png`. */
function binding(failures: Error[]) {
  let calls = 0;
  const images = {
    input: () => ({
      transform: () => ({
        output: async () => {
          const failure = failures[calls++];
          if (failure) throw failure;
          return { response: () => new Response(new Uint8Array(png)), contentType: () => 'image/png' };
        },
      }),
    }),
  } as unknown as ImagesBinding;
  return { images: attempts(images), calls: () => calls };
}

/** Attempts with a binding here, as the API Worker (or the photo-models Worker) makes them. */
const attempts =
  (images: ImagesBinding): ShrinkAttempt =>
  (stream, target) =>
    shrinkOnce(images, stream, target);

const rejected = Object.assign(new Error('IMAGES_TRANSFORM_ERROR 9412: bad input'), { code: 9412 });

describe('imagesShrinker', () => {
  it('retries once when the service fails, and answers', async () => {
    const b = binding([new Error('Network connection lost.')]);
    expect(await imagesShrinker(b.images)!(new Uint8Array([1, 2, 3]), { width: 2 }, HEADER)).toEqual({
      width: 2,
      height: 2,
      data: new Uint8Array(12),
    });
    expect(b.calls()).toBe(2);
  });

  it('fails twice: 503 image-service-unavailable with Retry-After', async () => {
    const b = binding([new Error('Network connection lost.'), new Error('Network connection lost.')]);
    const e = await imagesShrinker(b.images)!(new Uint8Array([1, 2, 3]), { width: 2 }, HEADER).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ProblemError);
    expect((e as ProblemError).kind).toBe('image-service-unavailable');
    expect((e as ProblemError).headers['Retry-After']).toBe('2');
  });

  it('an input the service rejects (ImagesError code) or an empty answer is the client’s 422, not retried', async () => {
    const b = binding([rejected]);
    const e = await imagesShrinker(b.images)!(new Uint8Array([1, 2, 3]), { width: 2 }, HEADER).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ImageError);
    expect(b.calls()).toBe(1);
    // An attempt that cannot be made at all (the photo-models Worker unreachable) is the service failing.
    let tries = 0;
    const unreachable: ShrinkAttempt = () => {
      tries++;
      return Promise.reject(new Error('service binding: connection refused'));
    };
    const down = await imagesShrinker(unreachable)!(new Uint8Array([1]), { width: 2 }, HEADER).catch((x: unknown) => x);
    expect((down as ProblemError).kind).toBe('image-service-unavailable');
    expect(tries).toBe(2);
    const empty = {
      input: () => ({ transform: () => ({ output: async () => ({ response: () => new Response(''), contentType: () => 'image/png' }) }) }),
    } as unknown as ImagesBinding;
    expect(await imagesShrinker(attempts(empty))!(new Uint8Array([1]), { width: 2 }, HEADER).catch((x: unknown) => x)).toBeInstanceOf(
      ImageError,
    );
  });
});
