/**
 * @module eval/lib/ort
 * onnxruntime sessions for Node scripts and tests: onnxruntime-web (WASM, SIMD, one
 * thread: the Worker's runtime) and onnxruntime-node (native CPU, one thread).
 */
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';

ortWeb.env.wasm.numThreads = 1;
ortWeb.env.wasm.proxy = false;
ortWeb.env.logLevel = 'error';

export { ortNode, ortWeb };

export function webSession(model: Uint8Array, options: ortWeb.InferenceSession.SessionOptions = {}) {
  return ortWeb.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', ...options });
}

export function nodeSession(model: Uint8Array, options: ortNode.InferenceSession.SessionOptions = {}) {
  return ortNode.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', ...options });
}
