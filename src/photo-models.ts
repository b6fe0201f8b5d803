/**
 * @module photo-models
 * The photo-models Worker (wrangler.photo-models.toml): the face detector and the landmark
 * net in their own isolate, called over RPC by the API Worker's service binding
 * PHOTO_MODELS (engine/photo `remotePhotoRunner`), and the Images binding's shrink of
 * phone-size uploads (api/image-service `shrinkOnce`). Keeping them out of the API isolate
 * keeps their wasm heap (57.6 MB here once both detector passes have run) and the binding's copy
 * of each upload away from the gradient graph's, so a phone-size photo pair explains
 * within 128 MB there (docs/photos.md). Models load from the same MODELS
 * bucket on the first call and stay for the isolate's life; runs are serialised.
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
import { type ShrinkOutcome, type ShrinkTarget, shrinkOnce } from './api/image-service.js';
import { Gate } from './engine/gate.js';
import { loadOrt, ortHeapBytes } from './engine/ort-workerd.js';
import { type DetectPass, type PhotoNets, type PhotoRunner, loadPhotoRunner } from './engine/photo.js';
import { SharedLoad } from './engine/shared-wait.js';
import { r2ModelSource } from './store/models.js';

export interface PhotoModelsEnv {
  MODELS: R2Bucket;
  IMAGES: ImagesBinding;
}

const queue = new Gate('wasm', 1, Infinity, { maxHoldMs: 30_000 });
let runner: SharedLoad<PhotoRunner> | undefined;

function photoRunner(bucket: R2Bucket): Promise<PhotoRunner> {
  runner ??= new SharedLoad(async () => {
    const ort = await loadOrt();
    const source = r2ModelSource(bucket);
    return loadPhotoRunner(ort, await source.manifest(), source, (task) => queue.run(task));
  });
  return runner.get();
}

/** The RPC surface the API Worker binds to (entrypoint "PhotoModels"). */
export class PhotoModels extends WorkerEntrypoint<PhotoModelsEnv> implements PhotoNets {
  async detect(x: Float32Array, pass?: DetectPass): Promise<{ boxes: Float32Array; classes: Float32Array }> {
    return (await photoRunner(this.env.MODELS)).detect(x, pass);
  }

  async landmarks(inputs: Float32Array[]): Promise<Float32Array[]> {
    return (await photoRunner(this.env.MODELS)).landmarks(inputs);
  }

  /**
   * One attempt at scaling an upload down with this Worker's Images binding. The upload
   * streams here from the API Worker, and the binding's copy of it chunk by chunk is
   * garbage in this isolate rather than in the one that computes gradients.
   */
  async shrink(image: ReadableStream<Uint8Array>, target: ShrinkTarget): Promise<ShrinkOutcome> {
    return shrinkOnce(this.env.IMAGES, image, target);
  }

  /** Bytes of this isolate's onnxruntime wasm heap (null before the first call). */
  heapBytes(): number | null {
    return ortHeapBytes() ?? null;
  }
}

export default {
  fetch: () => new Response('xfv photo models: RPC only (service binding PHOTO_MODELS)\n', { status: 404 }),
} satisfies ExportedHandler<PhotoModelsEnv>;
