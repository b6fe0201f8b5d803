// Wrangler's CompiledWasm rule turns a `.wasm` import into a WebAssembly.Module.
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
