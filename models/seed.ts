/**
 * @module models/seed
 * `npm run seed` (local; `-- --persist-to DIR` for another local state folder) /
 * `npm run seed -- --remote`: upload `models/dist` to the
 * MODELS R2 bucket — the embedded local bucket under `.wrangler/state` for `wrangler dev`
 * (through one Miniflare instance on the same persistence root, as `wrangler r2 object put
 * --local` writes it, without a wrangler process per file), or the real bucket for a
 * deployment (`wrangler r2 object put --remote`). Skips the local upload when the bucket
 * already holds this build (a stamp records the last seeded build key).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import type { ModelManifest } from '../src/xfv/manifest.js';
import { DIST_DIR } from './build.js';

const BUCKET = 'xfv-models';
const remote = process.argv.includes('--remote');
const persistAt = process.argv.indexOf('--persist-to');
const persistTo = persistAt >= 0 ? process.argv[persistAt + 1] : undefined;
const root = join(DIST_DIR, '..', '..');
const stateDir = persistTo ?? join(root, '.wrangler', 'state');
const stampFile = join(stateDir, 'xfv-seeded-build.txt');

const manifestPath = join(DIST_DIR, 'manifest.json');
if (!existsSync(manifestPath)) {
  console.error('seed: models/dist/manifest.json is missing: run `npm run models` first');
  process.exit(1);
}
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ModelManifest;
if (!remote && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === manifest.buildKey) {
  console.log('seed: local R2 already holds this model build');
  process.exit(0);
}
const wrangler = join(root, 'node_modules', '.bin', 'wrangler');
/** The model files, then the manifest: a reader never sees a manifest whose files are missing. */
const objects = [
  ...Object.values(manifest.files).map((f) => ({
    key: `models/${f.path}`,
    file: join(DIST_DIR, f.path),
    type: 'application/octet-stream',
  })),
  { key: 'models/manifest.json', file: manifestPath, type: 'application/json' },
];

if (remote) {
  for (const { key, file, type } of objects) {
    execFileSync(wrangler, ['r2', 'object', 'put', `${BUCKET}/${key}`, '--file', file, '--content-type', type, '--remote'], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    });
    console.log(`seed: remote ${BUCKET}/${key}`);
  }
} else {
  // wrangler dev keeps local state under <state>/v3; its R2 buckets are found there by name.
  const mf = new Miniflare({
    modules: true,
    script: 'export default { fetch: () => new Response(null, { status: 404 }) }',
    defaultPersistRoot: join(stateDir, 'v3'),
    r2Buckets: { BUCKET },
  });
  try {
    const bucket = await mf.getR2Bucket('BUCKET');
    for (const { key, file, type } of objects) {
      // A view of its own buffer: the proxy refuses a Buffer that shares Node's pool.
      await bucket.put(key, new Uint8Array(readFileSync(file)), { httpMetadata: { contentType: type } });
      console.log(`seed: local ${BUCKET}/${key}`);
    }
  } finally {
    await mf.dispose();
  }
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(stampFile, manifest.buildKey);
}
