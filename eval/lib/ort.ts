/**
 * @module eval/lib/ort
 * onnxruntime sessions for Node scripts and tests: onnxruntime-web (WASM, SIMD, one
 * thread: the Worker's runtime) and onnxruntime-node (native CPU, one thread).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { SESSION_OPTIONS } from '../../src/engine/embed.js';
import { externalWeights } from '../../src/engine/gradient.js';
import type { ModelManifest } from '../../src/xfv/manifest.js';

ortWeb.env.wasm.numThreads = 1;
ortWeb.env.wasm.proxy = false;
ortWeb.env.logLevel = 'error';

export { ortNode, ortWeb };

/** An onnxruntime-web session with the Worker's session options (engine/embed SESSION_OPTIONS). */
export function webSession(model: Uint8Array, options: ortWeb.InferenceSession.SessionOptions = {}) {
  return ortWeb.InferenceSession.create(model, { ...SESSION_OPTIONS, ...options });
}

/** The built gradient graph and the session options that attach its external weights. */
export function distGradient(dir: string) {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
  const { grad, gradWeights } = manifest.files;
  if (!grad || !gradWeights) throw new Error(`${dir} has no gradient graph: run npm run models`);
  return {
    graph: readFileSync(join(dir, grad.path)),
    options: externalWeights(gradWeights.path, readFileSync(join(dir, gradWeights.path))),
  };
}

export function nodeSession(model: Uint8Array, options: ortNode.InferenceSession.SessionOptions = {}) {
  return ortNode.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', ...options });
}
