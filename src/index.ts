/**
 * @module index
 * The Worker entry: the Hono app with onnxruntime-web set up for workerd, the scheduled
 * purge of tenant data past its retention (store/retention; wrangler.toml [triggers]), the
 * Durable Object class of tenant accounts and the Workflow class of explanation jobs.
 */
import { createApp } from './api/app.js';
import { intVar } from './worker/vars.js';
import { loadOrt, ortHeapBytes } from './engine/ort-workerd.js';
import { purgeExpired, RETENTION_DEFAULTS } from './store/retention.js';

const app = createApp({ loadOrt, heapBytes: ortHeapBytes });

export { TenantAccount } from './accounts/account-object.js';
export { ExplainJob } from './jobs/explain-job.js';
export { OcclusionBuilder } from './worker/occlusion-builder.js';

export default {
  fetch: app.fetch,
  async scheduled(controller, env) {
    const days = {
      results: intVar(env.RESULT_RETENTION_DAYS, RETENTION_DEFAULTS.results),
      bases: intVar(env.BASIS_RETENTION_DAYS, RETENTION_DEFAULTS.bases),
    };
    const purged = await purgeExpired(env.DATA, controller.scheduledTime, days);
    console.log(JSON.stringify({ event: 'retention-purge', cron: controller.cron, ...days, ...purged }));
  },
} satisfies ExportedHandler<Env>;
