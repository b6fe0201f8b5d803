/**
 * The Node-side engine path (decode → preprocess → int8 embed in onnxruntime-web →
 * cosine) with the same `src/` code the Worker runs: the reference the workers tests
 * compare the Worker's answers with.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { embedBatch } from '../src/engine/embed.js';
import { decodeImage, toModelInput } from '../src/image/index.js';
import type { ModelManifest } from '../src/xfv/manifest.js';
import { cosine } from '../src/xfv/verification.js';
import * as ortWeb from 'onnxruntime-web';

const sessions = new Map<string, Promise<ortWeb.InferenceSession>>();
const webSession = (bytes: Uint8Array) => {
  ortWeb.env.wasm.numThreads = 1;
  return ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
};

export async function nodeEngineSimilarity(manifestPath: string, a: string, b: string) {
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ModelManifest;
  const modelPath = join(dirname(manifestPath), manifest.files.int8.path);
  if (!sessions.has(modelPath)) sessions.set(modelPath, webSession(readFileSync(modelPath)));
  const session = await sessions.get(modelPath)!;
  const spec = { size: manifest.input.size, mean: manifest.input.mean, scale: manifest.input.scale };
  const inputs = [a, b].map((p) => toModelInput(decodeImage(readFileSync(p)), spec));
  const [ea, eb] = await embedBatch(ortWeb, session, inputs, spec.size);
  return { similarity: cosine(ea!, eb!), threshold: manifest.decision.threshold };
}
