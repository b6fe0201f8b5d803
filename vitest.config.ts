// Three vitest projects: `node` (toolchain, maths, images, oracles), `workers` (the API
// inside workerd through @cloudflare/vitest-pool-workers, with real miniflare R2), and `e2e`
// (wrangler dev on loopback: the demo page in Debian's Chromium, the typed client).
import { defineConfig } from 'vitest/config';
import workers from './test/workers/vitest.config.js';

export default defineConfig({
  test: {
    // Two node/workers test files at a time (vitest's default on 2 cores is one: cores − 1);
    // each workers file gets its own miniflare. The e2e files run after them, one at a time:
    // once, of two wrangler dev sessions started together, one's runtime failed to start.
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'node',
          include: ['test/node/**/*.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 300_000,
          pool: 'forks',
        },
      },
      workers,
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          maxWorkers: 1,
          environment: 'node',
          testTimeout: 900_000,
          hookTimeout: 300_000,
          pool: 'forks',
        },
      },
    ],
  },
});
