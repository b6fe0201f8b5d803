// The `workers` project: tests run inside workerd with the Worker's own wrangler.toml
// bindings (miniflare R2, D1, the accounts Durable Object, the Images binding, and the
// photo-models Worker behind PHOTO_MODELS, bundled here by wrangler as it is deployed). A Node-side FIXTURES service hands the built
// model files, the test faces and phone-size images made from them to the tests, which
// seed them into R2 (workerd cannot read the disk).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import sharp from 'sharp';
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

/**
 * A phone-size image made from a development photo (`/phone/<w>x<h>.<jpg|png>/<photo path>`):
 * workerd cannot run sharp, so the large files are made here and cached.
 */
const phoneImages = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();
function phoneImage(spec: string, photo: string): Promise<Uint8Array<ArrayBuffer>> | undefined {
  const m = /^(\d+)x(\d+)\.(jpg|png)$/.exec(spec);
  const path = resolve(roots.faces!, photo);
  if (!m || !path.startsWith(roots.faces!) || !existsSync(path)) return undefined;
  const key = `${spec}/${photo}`;
  if (!phoneImages.has(key)) {
    const resized = sharp(readFileSync(path)).resize(Number(m[1]), Number(m[2]), { fit: 'cover' });
    phoneImages.set(
      key,
      (m[3] === 'jpg' ? resized.jpeg({ quality: 90 }) : resized.png()).toBuffer().then((b) => new Uint8Array(b) as Uint8Array<ArrayBuffer>),
    );
  }
  return phoneImages.get(key);
}

/**
 * The photo-models Worker (wrangler.photo-models.toml) as miniflare runs it beside the tests:
 * bundled by `wrangler deploy --dry-run` (as deployed), sharing the models bucket.
 */
function photoModelsWorker() {
  const config = join(root, 'wrangler.photo-models.toml');
  const outdir = join(root, '.tmp', 'photo-models');
  rmSync(outdir, { recursive: true, force: true });
  execFileSync(join(root, 'node_modules', '.bin', 'wrangler'), ['deploy', '--dry-run', '-c', config, '--outdir', outdir], {
    cwd: root,
    stdio: 'ignore',
  });
  const toml = readFileSync(config, 'utf8');
  const field = (name: string) => new RegExp(`^${name} = "([^"]+)"`, 'm').exec(toml)?.[1] ?? '';
  // Listed, not collected from the script: onnxruntime's bundle has dynamic imports.
  const wasm = readdirSync(outdir).filter((f) => f.endsWith('.wasm'));
  return {
    name: field('name'),
    modulesRoot: outdir,
    modules: [
      { type: 'ESModule' as const, path: join(outdir, 'photo-models.js') },
      ...wasm.map((f) => ({ type: 'CompiledWasm' as const, path: join(outdir, f) })),
    ],
    compatibilityDate: field('compatibility_date'),
    r2Buckets: { MODELS: 'xfv-models' },
    images: { binding: 'IMAGES' },
  };
}

// Applied to the miniflare D1 database by test/workers/setup.ts before each test file.
const migrations = await readD1Migrations(join(root, 'migrations'));

/**
 * The webhook receivers the Worker delivers to (every outbound fetch ends here): by path,
 * `/ok/<name>` answers 204, `/flaky/<name>` 503 with Retry-After: 1 twice then 200,
 * `/gone/<name>` 410, `/down/<name>` 500. Each delivery is kept, for the tests to read
 * through FIXTURES `/deliveries/<name>`.
 */
const deliveries = new Map<string, { headers: Record<string, string>; body: string; answered: number }[]>();
/** Every outbound URL the Worker fetched, in order (FIXTURES `/outbound`). */
const outbound: string[] = [];

/**
 * `https://images.example/…`: image URLs for jobs. `/faces/<path>` serves a test face,
 * `/redirect/<n>/<path>` redirects n times before it, `/to-private` redirects to a private
 * address, `/huge` declares 100 MB, `/missing` is 404.
 */
function imageHost(url: URL): Response {
  const path = url.pathname;
  if (path === '/to-private') return new Response(null, { status: 302, headers: { location: 'https://10.0.0.5/x.png' } });
  if (path === '/huge') return new Response('x', { headers: { 'content-length': String(100 * 1024 * 1024) } });
  const hops = /^\/redirect\/(\d+)(\/.*)$/.exec(path);
  if (hops) {
    const n = Number(hops[1]);
    return new Response(null, { status: 302, headers: { location: n > 1 ? `/redirect/${n - 1}${hops[2]}` : hops[2]! } });
  }
  const file = path.startsWith('/faces/') ? resolve(roots.faces!, path.slice('/faces/'.length)) : '';
  if (!file.startsWith(roots.faces!) || !existsSync(file)) return new Response('not found', { status: 404 });
  return new Response(readFileSync(file), { headers: { 'content-type': 'image/png' } });
}

async function webhookReceiver(request: Request): Promise<Response> {
  const url = new URL(request.url);
  outbound.push(url.href);
  if (url.hostname === 'images.example') return imageHost(url);
  const [, behaviour = '', name = ''] = url.pathname.split('/');
  const seen = deliveries.get(name) ?? [];
  deliveries.set(name, seen);
  const answered = behaviour === 'ok' ? 204 : behaviour === 'gone' ? 410 : behaviour === 'flaky' ? (seen.length < 2 ? 503 : 200) : 500;
  const headers = Object.fromEntries([...request.headers].filter(([k]) => k.startsWith('webhook-') || k === 'content-type'));
  seen.push({ headers, body: await request.text(), answered });
  return new Response(null, { status: answered, headers: answered === 503 ? { 'Retry-After': '1' } : {} });
}

export default defineProject({
  root,
  plugins: [
    cloudflareTest({
      wrangler: { configPath: join(root, 'wrangler.toml') },
      miniflare: {
        // The secret `npm start` writes to .dev.vars; the tests use their own.
        bindings: { URL_SIGNING_SECRET: 'test-only-url-signing-secret-0123456789abcdef', TEST_MIGRATIONS: migrations },
        outboundService: webhookReceiver,
        workers: [photoModelsWorker()],
        serviceBindings: {
          FIXTURES: async (request: Request) => {
            const url = new URL(request.url);
            if (url.pathname.startsWith('/deliveries/')) return Response.json(deliveries.get(url.pathname.split('/')[2] ?? '') ?? []);
            if (url.pathname === '/outbound') return Response.json(outbound);
            if (url.pathname === '/engine/verify') return nodeEngineVerify(url);
            if (url.pathname.startsWith('/phone/')) {
              const [, , spec = '', ...photo] = url.pathname.split('/');
              const made = phoneImage(spec, photo.join('/'));
              return made ? new Response(await made) : new Response('not found', { status: 404 });
            }
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
    setupFiles: ['test/workers/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
