/**
 * @module photo-models
 * The photo-models Worker (wrangler.photo-models.toml): the face detector and the landmark
 * net in their own isolate, called over RPC by the API Worker's service binding
 * PHOTO_MODELS (engine/photo `remotePhotoRunner`), and the decoding of uploads: a JPEG by
 * libjpeg-turbo in wasm at a DCT scale (worker/image-service `decodeJpeg`; MozJPEG whole when
 * that one warned), anything else by the Images binding (`shrinkOnce`). Keeping them out of the API isolate keeps
 * their wasm heaps (57.6 MB of onnxruntime's here once both detector passes have run, up
 * to 24 MiB of each JPEG decoder's while it decodes) and the binding's copy of each upload away from the gradient graph's, so a phone-size photo pair explains
 * within 128 MB there (docs/photos.md). Models load from the same MODELS
 * bucket on the first call and stay for the isolate's life; runs are serialised.
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
// wrangler's module collector resolves .wasm imports by path, not through package exports.
import turboWasm from '../node_modules/@cwasm/jpeg-turbo/jpeg-turbo.wasm';
import jpegWasm from '../node_modules/@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm';
import {
  type JpegDecoders,
  type ShrinkOutcome,
  type ShrinkTarget,
  decodeAndShrink,
  decodeJpeg,
  shrinkOnce,
} from './worker/image-service.js';
import { Gate } from './engine/gate.js';
import { loadOrt, ortHeapBytes } from './engine/ort-workerd.js';
import {
  type DetectPass,
  type DetectShape,
  type DetectorOutput,
  type PhotoNets,
  type PhotoRunner,
  loadPhotoRunner,
} from './engine/photo.js';
import { SharedLoad } from './engine/shared-wait.js';
import type { ShrinkOptions } from './engine/image-decode.js';
import type { ImageHeader } from './image/index.js';
import { ScaledJpegDecoder, scalesJpeg } from './image/jpeg-scaled.js';
import { WasmJpegDecoder, decodesInWasm } from './image/jpeg-wasm.js';
import { r2ModelSource } from './store/models.js';

export interface PhotoModelsEnv {
  MODELS: R2Bucket;
  IMAGES: ImagesBinding;
}

const queue = new Gate('wasm', 1, Infinity, { maxHoldMs: 30_000 });
let runner: SharedLoad<PhotoRunner> | undefined;
const jpeg: JpegDecoders = { scaled: new ScaledJpegDecoder(turboWasm), whole: new WasmJpegDecoder(jpegWasm) };

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
  async detect(x: Float32Array, pass?: DetectPass, shape?: DetectShape): Promise<DetectorOutput> {
    return (await photoRunner(this.env.MODELS)).detect(x, pass, shape);
  }

  async landmarks(inputs: Float32Array[]): Promise<Float32Array[]> {
    return (await photoRunner(this.env.MODELS)).landmarks(inputs);
  }

  /**
   * One attempt at scaling an upload down: a JPEG is decoded here in wasm at the nearest
   * DCT scale at or above the target (up to `options.atMost`; image/jpeg-scaled), or, when
   * that decoder warned, as before it: whole by MozJPEG if it can hold it (image/jpeg-wasm
   * `decodesInWasm`), else by this Worker's Images binding, which takes everything else too.
   * The upload streams here from the API Worker, and the binding's copy of it chunk by chunk
   * is garbage in this isolate rather than in the one that computes gradients.
   */
  async shrink(
    image: ReadableStream<Uint8Array>,
    target: ShrinkTarget,
    header?: ImageHeader,
    options?: ShrinkOptions,
  ): Promise<ShrinkOutcome> {
    const service = (upload: ReadableStream<Uint8Array>) => shrinkOnce(this.env.IMAGES, upload, target);
    if (header && scalesJpeg(header, options?.bytes ?? Number.POSITIVE_INFINITY))
      return decodeJpeg(jpeg, image, header, target, options?.atMost, service);
    if (header && decodesInWasm(header)) return decodeAndShrink(jpeg.whole, image, target);
    return service(image);
  }

  /** Bytes of this isolate's wasm heaps, onnxruntime's and the JPEG decoders' (null before any ran). */
  heapBytes(): number | null {
    const bytes = (ortHeapBytes() ?? 0) + jpeg.scaled.heapBytes() + jpeg.whole.heapBytes();
    return bytes > 0 ? bytes : null;
  }
}

export default {
  fetch: () => new Response('xfv photo models: RPC only (service binding PHOTO_MODELS)\n', { status: 404 }),
} satisfies ExportedHandler<PhotoModelsEnv>;
