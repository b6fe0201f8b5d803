/**
 * @module engine/engine
 * The per-isolate inference engine: the manifest and the int8 embedding session, loaded
 * from R2 on first use and kept for the isolate's life. Runs are serialised (one WASM
 * thread); a failed load is not cached, so a later request retries after the bucket is
 * fixed, but a failed ORT initialisation is (it poisons the isolate).
 */
import type { ModelManifest } from '../xfv/manifest.js';
import { ModelUnavailableError, readManifest, readModelFile } from '../store/models.js';
import { type OrtModule, type OrtSession, embedBatch } from './embed.js';
import { releaseBuffer } from '../release.js';
import { Gate } from './gate.js';
import { Shared } from './shared-wait.js';
import { BASIS_CHUNK, type GradientRunner, gradientRunner, gradientSessionOptions } from './gradient.js';

export interface Engine {
  manifest: ModelManifest;
  /** Raw int8 embeddings for preprocessed inputs, in one batch. */
  embed(inputs: Float32Array[]): Promise<Float32Array[]>;
  /** The fp32 gradient graph (loaded on first use: explanations only). */
  gradient(): Promise<GradientRunner>;
}

export interface EngineSource {
  loadOrt: () => Promise<OrtModule>;
  bucket: R2Bucket;
}

let engine: Shared<Engine> | undefined;
let ortFailure: Error | undefined;
// Runs are serialised: one wasm thread per isolate (a run takes well under a second; one
// held for 30 s belongs to a cancelled request).
const queue = new Gate('wasm', 1, Infinity, { maxHoldMs: 30_000 });

async function createEngine({ loadOrt, bucket }: EngineSource): Promise<Engine> {
  let ort: OrtModule;
  if (ortFailure) throw ortFailure;
  const manifest = await readManifest(bucket);
  const bytes = await readModelFile(bucket, manifest.files.int8);
  let session: OrtSession;
  try {
    ort = await loadOrt();
    session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    // onnxruntime copied the model into its heap: the file's bytes are not needed any more.
    releaseBuffer(bytes);
  } catch (e) {
    ortFailure = new ModelUnavailableError(`onnxruntime could not start: ${e instanceof Error ? e.message : String(e)}`);
    throw ortFailure;
  }
  let gradient: Shared<GradientRunner> | undefined;
  const loadGradient = async (): Promise<GradientRunner> => {
    const { grad, gradWeights } = manifest.files;
    if (!grad || !gradWeights) throw new ModelUnavailableError('the manifest lists no gradient graph (files.grad, files.gradWeights): rebuild and reseed the models');
    const [graph, weights] = await Promise.all([readModelFile(bucket, grad), readModelFile(bucket, gradWeights)]);
    let gradSession: OrtSession;
    try {
      gradSession = await ort.InferenceSession.create(graph, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', ...gradientSessionOptions(gradWeights.path, weights) });
    } catch (e) {
      throw new ModelUnavailableError(`the gradient graph could not be loaded: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      // Copied into the heap (or failed): 22.6 MB given back now, not at the next GC.
      releaseBuffer(graph);
      releaseBuffer(weights);
    }
    const shape = { channels: 3, size: manifest.input.size, n: manifest.output.size, chunk: BASIS_CHUNK };
    return gradientRunner(ort, gradSession, shape, (task) => queue.run(task));
  };
  return {
    manifest,
    embed: (inputs) => queue.run(() => embedBatch(ort, session, inputs, manifest.input.size)),
    gradient: () => {
      if (!gradient) {
        const loading = (gradient = new Shared(loadGradient()));
        loading.promise.catch(() => {
          if (gradient === loading) gradient = undefined;
        });
      }
      return gradient.wait();
    },
  };
}

/** The isolate's engine, created on first call. */
export function getEngine(source: EngineSource): Promise<Engine> {
  if (!engine) {
    const loading = (engine = new Shared(createEngine(source)));
    loading.promise.catch(() => {
      if (engine === loading) engine = undefined;
    });
  }
  return engine.wait();
}
