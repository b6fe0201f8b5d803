// Three vitest projects: `node` (toolchain, maths, images, oracles), `workers` (the API
// inside workerd through @cloudflare/vitest-pool-workers, with real miniflare R2), and `e2e`
// (wrangler dev on loopback: the demo page in Debian's Chromium, the typed client).
import { defineConfig } from 'vitest/config';
import workers from './test/workers/vitest.config.js';

export default defineConfig({
  test: {
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
          environment: 'node',
          testTimeout: 900_000,
          hookTimeout: 300_000,
          pool: 'forks',
        },
      },
    ],
  },
});
