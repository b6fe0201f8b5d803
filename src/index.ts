/**
 * @module index
 * The Worker entry: the Hono app with onnxruntime-web set up for workerd.
 */
import { createApp } from './api/app.js';
import { loadOrt, ortHeapBytes } from './engine/ort-workerd.js';

const app = createApp({ loadOrt, heapBytes: ortHeapBytes });

export default app;
