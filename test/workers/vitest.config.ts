// The `workers` project: tests run inside workerd with the Worker's own wrangler.toml
// bindings (miniflare R2). A Node-side FIXTURES service hands the built model files and
// the test faces to the tests, which seed them into R2 (workerd cannot read the disk).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineProject } from 'vitest/config';
import { nodeEngineSimilarity } from '../node-engine.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const roots: Record<string, string> = {
  models: join(root, 'models', 'dist'),
  faces: resolve(root, '..', 'shared', 'faces'),
};

/** The Node-side engine (same src code, onnxruntime-web under Node) on two fixture faces. */
async function nodeEngineVerify(url: URL): Promise<Response> {
  try {
    const [a, b] = ['a', 'b'].map((k) => join(roots.faces!, url.searchParams.get(k) ?? ''));
    const input = url.searchParams.get('input') === 'photo' ? 'photo' : 'aligned-crop';
    return Response.json(await nodeEngineSimilarity(join(roots.models!, 'manifest.json'), a!, b!, input));
  } catch (e) {
    return new Response(String(e instanceof Error ? e.stack : e), { status: 500 });
  }
}

export default defineProject({
  root,
  plugins: [
    cloudflareTest({
      wrangler: { configPath: join(root, 'wrangler.toml') },
      miniflare: {
        serviceBindings: {
          FIXTURES: async (request: Request) => {
            const url = new URL(request.url);
            if (url.pathname === '/engine/verify') return nodeEngineVerify(url);
            const [, area, ...rest] = url.pathname.split('/');
            const base = roots[area ?? ''];
            const path = base && resolve(base, ...rest);
            if (!base || !path?.startsWith(base) || !existsSync(path)) return new Response('not found', { status: 404 });
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
