/**
 * @module release
 * Give a large buffer's memory back at once instead of at V8's next collection: detach its
 * ArrayBuffer with `transfer(0)`. Used for model files once onnxruntime has copied them
 * into its heap, for gradient outputs once they are summed and written, and for the
 * per-request buffers of an explanation (basis read blocks, inputs, maps) once answered.
 * Without it the 22.6 MB weights file stayed counted in the isolate until a GC happened
 * to run, and concurrent requests piled up tens of MB of garbage (docs/explanations.md,
 * memory). Where `transfer` is missing (Node 20) this is a no-op.
 */
export function releaseBuffer(bufferOrView: ArrayBufferView | ArrayBuffer): void {
  const buffer = (ArrayBuffer.isView(bufferOrView) ? bufferOrView.buffer : bufferOrView) as ArrayBuffer & {
    transfer?: (length: number) => ArrayBuffer;
    detached?: boolean;
  };
  if (buffer instanceof ArrayBuffer && typeof buffer.transfer === 'function' && !buffer.detached) buffer.transfer(0);
}
