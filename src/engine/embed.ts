/**
 * @module engine/embed
 * Run an embedding session on preprocessed inputs. The onnxruntime module is passed in,
 * so the same code serves the Worker (onnxruntime-web in workerd) and Node scripts.
 */
import type * as Ort from 'onnxruntime-web';

export type OrtModule = typeof Ort;
export type OrtSession = Ort.InferenceSession;

/**
 * Options for every session the engine creates, and for the Node tools that measure it.
 * The memory pattern is off: with it, onnxruntime plans one block per input shape for all
 * of a run's intermediate tensors and keeps it, so a session holds its largest run's
 * activations in the wasm heap (which never shrinks). Under Node a full basis leaves the
 * heap at 69.2 MB instead of 99.6 MB for a basis 1 % slower (`npm run bench:basis-memory`);
 * the isolate's heaps measured under wrangler dev are the same with it off (69.2 MB after
 * crop explanations, 83.1 MB with the photo models: `npm run bench:explain`).
 */
export const SESSION_OPTIONS = { executionProviders: ['wasm'], graphOptimizationLevel: 'all', enableMemPattern: false } as const;

/** Raw embeddings for a batch of [3,S,S] inputs, in one run. */
export async function embedBatch(ort: OrtModule, session: OrtSession, inputs: Float32Array[], size: number): Promise<Float32Array[]> {
  if (inputs.length === 0) return [];
  const plane = 3 * size * size;
  const batch = new Float32Array(plane * inputs.length);
  inputs.forEach((x, i) => {
    if (x.length !== plane) throw new Error(`input ${i} has ${x.length} values, expected ${plane}`);
    batch.set(x, i * plane);
  });
  const feeds = { x: new ort.Tensor('float32', batch, [inputs.length, 3, size, size]) };
  const out = await session.run(feeds, ['embedding']);
  const emb = out.embedding!;
  const data = emb.data as Float32Array;
  const n = data.length / inputs.length;
  const result = inputs.map((_, i) => data.slice(i * n, (i + 1) * n));
  emb.dispose();
  return result;
}
