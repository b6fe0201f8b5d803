/**
 * @module bench/lib/wasm-heap
 * Read onnxruntime-web's WebAssembly heap size under Node, as `/v1/models` reports it in
 * the Worker: hooks WebAssembly.instantiate to find the module's Memory. Call before the
 * first session is created (streaming instantiation is disabled so the hook sees it).
 */
export function probeWasmHeap(): () => number {
  let memory: WebAssembly.Memory | undefined;
  const original = WebAssembly.instantiate.bind(WebAssembly);
  (WebAssembly as { instantiateStreaming?: unknown }).instantiateStreaming = undefined;
  WebAssembly.instantiate = ((source: BufferSource | WebAssembly.Module, imports?: WebAssembly.Imports) =>
    original(source as BufferSource, imports).then((result: WebAssembly.WebAssemblyInstantiatedSource | WebAssembly.Instance) => {
      const instance = result instanceof WebAssembly.Instance ? result : result.instance;
      const candidates = [...Object.values(instance.exports), ...Object.values(imports ?? {}).flatMap((ns) => Object.values(ns as object))];
      memory = candidates.find((v): v is WebAssembly.Memory => v instanceof WebAssembly.Memory) ?? memory;
      return result;
    })) as typeof WebAssembly.instantiate;
  return () => memory?.buffer.byteLength ?? 0;
}
