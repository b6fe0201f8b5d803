/**
 * @module image
 * Image decoding and preprocessing for the model (no I/O; bytes in, tensors out).
 */
export * from './decode.js';
export * from './preprocess.js';
export * from './render.js';
