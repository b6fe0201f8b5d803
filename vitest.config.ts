// Two vitest projects: `node` (toolchain, maths, images, oracles) and `workers` (the API
// inside workerd through @cloudflare/vitest-pool-workers, with real miniflare R2).
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
    ],
  },
});
