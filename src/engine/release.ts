/**
 * @module engine/release
 * Give a large buffer's memory back at once instead of at V8's next collection: detach its
 * ArrayBuffer with `transfer(0)`. Used for model files once onnxruntime has copied them
 * into its heap, and for gradient outputs once they are summed and written. Without it,
 * the 22.6 MB weights file alone stayed counted in the isolate until a GC happened to run
 * (README "Explanations", memory). Where `transfer` is missing (Node 20) this is a no-op.
 */
export function releaseBuffer(view: ArrayBufferView): void {
  const buffer = view.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer; detached?: boolean };
  if (buffer instanceof ArrayBuffer && typeof buffer.transfer === 'function' && !buffer.detached) buffer.transfer(0);
}
