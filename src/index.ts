/**
 * @module index
 * The Worker entry: the Hono app with onnxruntime-web set up for workerd, the Durable
 * Object class of tenant accounts and the Workflow class of explanation jobs.
 */
import { createApp } from './api/app.js';
import { loadOrt, ortHeapBytes } from './engine/ort-workerd.js';

const app = createApp({ loadOrt, heapBytes: ortHeapBytes });

export { TenantAccount } from './accounts/account-object.js';
export { ExplainJob } from './jobs/explain-job.js';
export default app;
