/**
 * @module engine/ort-workerd
 * onnxruntime-web inside workerd: one thread, SIMD, no proxy worker. workerd forbids
 * compiling WebAssembly from bytes ("Wasm code generation disallowed by embedder"), so the
 * ORT wasm is imported as a module (wrangler's CompiledWasm rule), the loader is given a
 * placeholder binary so it never fetches, and `WebAssembly.instantiate(bytes, imports)`
 * is redirected once to instantiate the imported Module instead. Initialised once per
 * isolate; a failure is remembered (a failed init poisons the isolate) and reported.
 */
import * as ort from 'onnxruntime-web/wasm';
// wrangler's module collector resolves .wasm imports by path, not through package exports.
import ortWasm from '../../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm';
import type { OrtModule } from './embed.js';

let ready: Promise<OrtModule> | undefined;
let memory: WebAssembly.Memory | undefined;

/** Bytes of the ORT wasm heap (it only grows), once ORT has started. */
export function ortHeapBytes(): number | undefined {
  return memory?.buffer.byteLength;
}

function redirectInstantiate(module: WebAssembly.Module) {
  const original = WebAssembly.instantiate.bind(WebAssembly);
  const patched = ((source: BufferSource | WebAssembly.Module, imports?: WebAssembly.Imports) => {
    if (source instanceof WebAssembly.Module) return original(source, imports);
    // Any bytes are our placeholder: instantiate the precompiled ORT module instead,
    // and resolve to the {module, instance} shape that a bytes call returns.
    return original(module, imports).then((instance) => {
      const candidates = [...Object.values(instance.exports), ...Object.values(imports ?? {}).flatMap((ns) => Object.values(ns as object))];
      memory = candidates.find((v): v is WebAssembly.Memory => v instanceof WebAssembly.Memory);
      return { module, instance };
    });
  }) as typeof WebAssembly.instantiate;
  WebAssembly.instantiate = patched;
}

/** The configured onnxruntime-web module; initialises the WASM backend on first call. */
export function loadOrt(): Promise<OrtModule> {
  ready ??= (async () => {
    redirectInstantiate(ortWasm);
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.wasm.simd = true;
    ort.env.wasm.wasmBinary = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
    ort.env.logLevel = 'error';
    return ort as unknown as OrtModule;
  })();
  return ready;
}
