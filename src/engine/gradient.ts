/**
 * @module engine/gradient
 * Runs the precompiled gradient graph (x, cot, mean → embedding, grad, basis): the raw
 * fp32 embedding, VJP rows for given cotangents, and the per-image FGGB basis in chunks
 * of K identity rows (K bounds the memory: see docs/explanations.md).
 */
import { type OrtModule, type OrtSession, SESSION_OPTIONS } from './embed.js';
import { releaseBuffer } from '../release.js';
import type { BasisDtype } from '../store/basis.js';
import { HALF_TABLE, toHalf } from '../store/float16.js';
import { type SmoothOptions, noisyCopy, normaliseRows } from '../xfv/smooth.js';
import type { BasisBlock } from '../xfv/fggb.js';
import type { ModelManifest } from '../xfv/manifest.js';

/** One chunk of a basis: channels k0…k0+count−1, as the accumulator reads them and as bytes to store. */
export interface BasisChunk {
  k0: number;
  count: number;
  block: BasisBlock;
  /** The same values as stored (float32 LE, or float16 bit patterns). */
  bytes: Uint8Array;
}

export interface GradientRunner {
  /** Raw embedding F of one preprocessed image (the forward part only). */
  embedding(x: Float32Array): Promise<Float32Array>;
  /** grad rows [K,C,H,W] for the given cotangent rows. */
  vjp(x: Float32Array, cot: Float32Array[], mean: Float32Array): Promise<Float32Array>;
  /**
   * The N×H×W basis, delivered chunk by chunk as `dtype` (f16: the graph's `basis16`, half
   * the bytes to copy out of the wasm heap). A chunk is valid only until its onChunk
   * settles: it is released then (copy what must outlive the call).
   */
  basis(
    x: Float32Array,
    mean: Float32Array,
    dtype: BasisDtype,
    onChunk: (chunk: BasisChunk) => Promise<void> | void,
    smooth?: SmoothOptions,
  ): Promise<void>;
}

/** Rows per basis run: the heap grows with it (docs/explanations.md: `npm run bench:basis-memory`). */
export const BASIS_CHUNK = 8;

/**
 * Session options for a model with external weights (the gradient graph), for any onnxruntime: weights from the
 * external-data buffer, and no weight prepacking (it keeps a second, repacked copy of every
 * conv weight in the heap for no measured speed-up; docs/explanations.md).
 */
export function externalWeights(weightsPath: string, weights: Uint8Array) {
  return { externalData: [{ path: weightsPath, data: weights }], extra: { session: { disable_prepacking: '1' } } };
}

export interface GradientShape {
  channels: number;
  size: number;
  n: number;
  /** Rows per run of the basis. */
  chunk: number;
}

export function gradientRunner(
  ort: OrtModule,
  session: OrtSession,
  shape: GradientShape,
  serialise: <T>(task: () => Promise<T>) => Promise<T> = (t) => t(),
): GradientRunner {
  const { channels, size, n, chunk } = shape;
  // Chunks start on the FGGB accumulator's 4-channel groups (fresh and cached sums agree).
  if (chunk < 4 || chunk % 4 !== 0) throw new Error(`basis chunk ${chunk}: must be a positive multiple of 4`);
  const xTensor = (x: Float32Array) => new ort.Tensor('float32', x, [1, channels, size, size]);
  const meanTensor = (m: Float32Array) => new ort.Tensor('float32', m, [1, n]);
  const run = <T extends Float32Array | Uint16Array = Float32Array>(
    x: Float32Array,
    cot: Float32Array,
    rows: number,
    mean: Float32Array,
    output: string,
  ) =>
    serialise(async () => {
      const out = await session.run({ x: xTensor(x), cot: new ort.Tensor('float32', cot, [rows, n]), mean: meanTensor(mean) }, [output]);
      // CPU outputs are fresh JS arrays (copied out of the wasm heap): keep it, no copy.
      const t = out[output]!;
      const data = t.data as Float32Array | Uint16Array;
      t.dispose();
      // float16 comes as Uint16Array, or as Float16Array where the runtime has one.
      return (
        t.type === 'float16' && !(data instanceof Uint16Array) ? new Uint16Array(data.buffer, data.byteOffset, data.length) : data
      ) as T;
    });
  return {
    embedding: (x) => run(x, new Float32Array(n), 1, new Float32Array(n), 'embedding'),
    vjp: (x, cot, mean) => {
      const rows = new Float32Array(cot.length * n);
      cot.forEach((c, i) => rows.set(c, i * n));
      return run(x, rows, cot.length, mean, 'grad');
    },
    basis: async (x, mean, dtype, onChunk, smooth) => {
      const copies = smooth ? Array.from({ length: smooth.samples }, (_, i) => noisyCopy(x, i, smooth)) : [];
      for (let k0 = 0; k0 < n; k0 += chunk) {
        const count = Math.min(chunk, n - k0);
        const cot = new Float32Array(count * n);
        for (let i = 0; i < count; i++) cot[i * n + k0 + i] = 1;
        let values: Float32Array | Uint16Array;
        if (smooth) {
          // Smoothed: the rows of every noisy copy summed in float32, back to unit norm, then stored as dtype.
          const sum = new Float32Array(count * size * size);
          for (const copy of copies) {
            const rows = await run(copy, cot, count, mean, 'basis');
            for (let i = 0; i < sum.length; i++) sum[i]! += rows[i]!;
            releaseBuffer(rows);
            await yieldToEventLoop();
          }
          normaliseRows(sum, count);
          if (dtype === 'f16') {
            // A plain loop: TypedArray.from with a map function boxes every value first.
            const codes = new Uint16Array(sum.length);
            for (let i = 0; i < sum.length; i++) codes[i] = toHalf(sum[i]!);
            releaseBuffer(sum);
            values = codes;
          } else values = sum;
        } else {
          values = await run<Float32Array | Uint16Array>(x, cot, count, mean, dtype === 'f16' ? 'basis16' : 'basis');
        }
        const block: BasisBlock = values instanceof Uint16Array ? { codes: values, table: HALF_TABLE } : values;
        await onChunk({ k0, count, block, bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
        releaseBuffer(values);
        await yieldToEventLoop();
      }
    },
  };
}

/**
 * A basis is seconds of synchronous wasm: give the event loop a turn after every graph run
 * so other requests in the isolate (and the runtime's own pings) are not starved. Under
 * `wrangler dev`, a request that arrived during one long stretch of a smoothed chunk (four
 * runs back to back, ~7 s) was seen to stay unanswered until its client gave up.
 */
const yieldToEventLoop = () => new Promise((resolve) => setTimeout(resolve, 0));

/** The session and shape for a manifest's gradient graph, from its file bytes (any onnxruntime). */
export async function loadGradientRunner(
  ort: OrtModule,
  manifest: ModelManifest,
  files: { graph: Uint8Array; weights: Uint8Array },
  {
    serialise,
    sessionOptions = SESSION_OPTIONS,
  }: { serialise?: <T>(task: () => Promise<T>) => Promise<T>; sessionOptions?: Record<string, unknown> } = {},
): Promise<GradientRunner> {
  const weightsPath = manifest.files.gradWeights?.path;
  if (!weightsPath) throw new Error('the manifest lists no gradient weights (files.gradWeights)');
  const session = await ort.InferenceSession.create(files.graph, {
    ...sessionOptions,
    ...externalWeights(weightsPath, files.weights),
  });
  return gradientRunner(ort, session, gradientShape(manifest), serialise);
}

/** The basis shape of a manifest's model, in BASIS_CHUNK rows per run. */
export const gradientShape = (manifest: ModelManifest, chunk = BASIS_CHUNK): GradientShape => ({
  channels: 3,
  size: manifest.input.size,
  n: manifest.output.size,
  chunk,
});
