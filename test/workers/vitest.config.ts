// The `workers` project: tests run inside workerd with the Worker's own wrangler.toml
// bindings (miniflare R2). A Node-side FIXTURES service hands the built model files and
// the test faces to the tests, which seed them into R2 (workerd cannot read the disk).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineProject } from 'vitest/config';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const roots: Record<string, string> = {
  models: join(root, 'models', 'dist'),
  faces: resolve(root, '..', 'shared', 'faces'),
};

export default defineProject({
  root,
  plugins: [
    cloudflareTest({
      wrangler: { configPath: join(root, 'wrangler.toml') },
      miniflare: {
        serviceBindings: {
          FIXTURES: async (request: Request) => {
            const [, area, ...rest] = new URL(request.url).pathname.split('/');
            const base = roots[area ?? ''];
            const path = base && resolve(base, ...rest);
            if (!base || !path || !path.startsWith(base) || !existsSync(path)) return new Response('not found', { status: 404 });
            return new Response(readFileSync(path));
          },
        },
      },
    }),
  ],
  test: {
    name: 'workers',
    include: ['test/workers/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
