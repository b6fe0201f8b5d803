/**
 * The Node-side verify pipeline (engine/verify over models/dist, onnxruntime-web) with the
 * same `src/` code the Worker runs: the reference the workers tests compare the Worker's
 * answers with.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { distEngine } from '../src/cli/dist-engine.js';
import type { Engine } from '../src/engine/engine.js';
import type { InputKind } from '../src/engine/inputs.js';
import { verifyPair } from '../src/engine/verify.js';
import { LOCAL_LIMITS } from '../src/cli/shrink.js';

const engines = new Map<string, Promise<Engine>>();

export async function nodeEngineSimilarity(manifestPath: string, a: string, b: string, input: InputKind = 'aligned-crop') {
  const dir = dirname(manifestPath);
  if (!engines.has(dir)) engines.set(dir, distEngine(dir));
  const engine = await engines.get(dir)!;
  const { result } = await verifyPair(engine, { a: readFileSync(a), b: readFileSync(b), input }, { limits: LOCAL_LIMITS });
  return { similarity: result.similarity, threshold: result.threshold };
}
