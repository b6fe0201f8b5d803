/**
 * @module engine/engine
 * The inference engine: the manifest and the int8 embedding session, loaded from a model
 * source (R2 in the Worker, models/dist in Node) on first use and, in the Worker, kept for
 * the isolate's life (`getEngine`). Runs are serialised (one WASM
 * thread); a failed load is not cached, so a later request retries after the bucket is
 * fixed, but a failed ORT initialisation is (it poisons the isolate).
 */
import type { ModelManifest } from '../xfv/manifest.js';
import { type ModelSource, ModelUnavailableError, r2ModelSource } from '../store/models.js';
import { type OrtModule, type OrtSession, SESSION_OPTIONS, embedBatch } from './embed.js';
import { releaseBuffer } from '../release.js';
import { Gate } from './gate.js';
import { SharedLoad } from './shared-wait.js';
import { type GradientRunner, loadGradientRunner } from './gradient.js';
import { type PhotoNets, type PhotoRunner, loadPhotoRunner, loadPriors, remotePhotoRunner } from './photo.js';

export interface Engine {
  manifest: ModelManifest;
  /** Raw int8 embeddings for preprocessed inputs, in one batch. */
  embed(inputs: Float32Array[]): Promise<Float32Array[]>;
  /** The fp32 gradient graph (loaded on first use: explanations only). */
  gradient(): Promise<GradientRunner>;
  /** The face detector and landmark net (loaded on first use: photo inputs only). */
  photo(): Promise<PhotoRunner>;
}

export interface EngineSource {
  loadOrt: () => Promise<OrtModule>;
  bucket: R2Bucket;
  /** The photo-models Worker (service binding); absent: the photo models run in this isolate. */
  photoModels?: PhotoNets | undefined;
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

let engine: SharedLoad<Engine> | undefined;
let ortFailure: Error | undefined;
// Runs are serialised: one wasm thread per isolate (a run takes well under a second; one
// held for 30 s belongs to a cancelled request).
const queue = new Gate('wasm', 1, Infinity, { maxHoldMs: 30_000 });

/**
 * An engine over a model source, not cached (Node scripts and the CLI; the Worker uses
 * getEngine). With `photoModels` the detector and landmark net run there, not here.
 */
export async function createEngine(loadOrt: () => Promise<OrtModule>, models: ModelSource, photoModels?: PhotoNets): Promise<Engine> {
  let ort: OrtModule;
  if (ortFailure) throw ortFailure;
  const manifest = await models.manifest();
  const bytes = await models.file(manifest.files.int8);
  let session: OrtSession;
  try {
    ort = await loadOrt();
    session = await ort.InferenceSession.create(bytes, { ...SESSION_OPTIONS });
    // onnxruntime copied the model into its heap: the file's bytes are not needed any more.
    releaseBuffer(bytes);
  } catch (e) {
    ortFailure = new ModelUnavailableError(`onnxruntime could not start: ${errorText(e)}`, { cause: e });
    throw ortFailure;
  }
  const gradient = new SharedLoad(async (): Promise<GradientRunner> => {
    const { grad, gradWeights } = manifest.files;
    if (!grad || !gradWeights)
      throw new ModelUnavailableError(
        'the manifest lists no gradient graph (files.grad, files.gradWeights): rebuild and reseed the models',
      );
    const [graph, weights] = await Promise.all([models.file(grad), models.file(gradWeights)]);
    try {
      return await loadGradientRunner(ort, manifest, { graph, weights }, { serialise: (task) => queue.run(task) });
    } catch (e) {
      throw new ModelUnavailableError(`the gradient graph could not be loaded: ${errorText(e)}`, { cause: e });
    } finally {
      // Copied into the heap (or failed): 22.6 MB given back now, not at the next GC.
      releaseBuffer(graph);
      releaseBuffer(weights);
    }
  });
  const photo = new SharedLoad(
    async (): Promise<PhotoRunner> =>
      photoModels
        ? remotePhotoRunner(photoModels, manifest, await loadPriors(manifest, models))
        : loadPhotoRunner(ort, manifest, models, (task) => queue.run(task)),
  );
  return {
    manifest,
    embed: (inputs) => queue.run(() => embedBatch(ort, session, inputs, manifest.input.size)),
    gradient: () => gradient.get(),
    photo: () => photo.get(),
  };
}

/** The isolate's engine over the models bucket, created on first call. */
export function getEngine({ loadOrt, bucket, photoModels }: EngineSource): Promise<Engine> {
  engine ??= new SharedLoad(() => createEngine(loadOrt, r2ModelSource(bucket), photoModels));
  return engine.get();
}
