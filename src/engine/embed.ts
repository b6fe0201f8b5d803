/**
 * @module engine/embed
 * Run an embedding session on preprocessed inputs. The onnxruntime module is passed in,
 * so the same code serves the Worker (onnxruntime-web in workerd) and Node scripts.
 */
import type * as Ort from 'onnxruntime-web';

export type OrtModule = typeof Ort;
export type OrtSession = Ort.InferenceSession;

/**
 * Options for every session the engine creates. The memory pattern is off: with it,
 * onnxruntime plans one block per input shape for all of a run's intermediate tensors and
 * keeps it, so each session holds its largest run's activations in the wasm heap (which
 * never shrinks); without it, a run's tensors go back to the heap's allocator and the next
 * session reuses them (17 MB less heap for a photo explanation, at no measured cost:
 * `npm run bench:basis-memory`, docs/benchmarks.md).
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
