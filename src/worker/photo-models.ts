/**
 * @module worker/photo-models
 * The PHOTO_MODELS service binding (the photo-models Worker, src/photo-models.ts), typed
 * from its entrypoint class: the engine's photo nets and the shrink of photos (wasm JPEG
 * decoders, image service) run there; unbound, the engine runs the photo models in this
 * isolate and the shrink uses this Worker's Images binding.
 */
import type { PhotoNets } from '../engine/photo.js';
import type { ShrinkOptions } from '../engine/image-decode.js';
import type { ImageHeader } from '../image/index.js';
import type { ShrinkOutcome, ShrinkTarget } from './image-service.js';

/** What the photo-models Worker answers over RPC (src/photo-models.ts). */
export interface PhotoModelsService extends PhotoNets {
  shrink(image: ReadableStream<Uint8Array>, target: ShrinkTarget, header: ImageHeader, options?: ShrinkOptions): Promise<ShrinkOutcome>;
  heapBytes(): Promise<number | null>;
}

/** The binding, or undefined where the Worker has none. */
export const photoModelsService = (env: Pick<Env, 'PHOTO_MODELS'>): PhotoModelsService | undefined => env.PHOTO_MODELS ?? undefined;

/** The photo-models Worker's wasm heaps (ORT's and the JPEG decoder's) in bytes; null when unbound, not started or not answering (within 2 s). */
export async function photoModelsHeapBytes(env: Pick<Env, 'PHOTO_MODELS'>): Promise<number | null> {
  const photoModels = photoModelsService(env);
  if (!photoModels) return null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 2000)));
  try {
    return await Promise.race([photoModels.heapBytes(), timeout]);
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}
