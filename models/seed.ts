/**
 * @module models/seed
 * `npm run seed` (local; `-- --persist-to DIR` for another local state folder) /
 * `npm run seed -- --remote`: upload `models/dist` to the
 * MODELS R2 bucket with wrangler — the embedded local bucket under `.wrangler/state` for
 * `wrangler dev`, or the real bucket for a deployment. Skips the local upload when the
 * bucket already holds this build (a stamp records the last seeded build key).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
const put = (key: string, file: string, type: string) => {
  const where = remote ? ['--remote'] : ['--local', ...(persistTo ? ['--persist-to', persistTo] : [])];
  execFileSync(wrangler, ['r2', 'object', 'put', `${BUCKET}/${key}`, '--file', file, '--content-type', type, ...where], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
  console.log(`seed: ${remote ? 'remote' : 'local'} ${BUCKET}/${key}`);
};
// Model files first, manifest last: a reader never sees a manifest whose files are missing.
for (const f of Object.values(manifest.files)) put(`models/${f.path}`, join(DIST_DIR, f.path), 'application/octet-stream');
put('models/manifest.json', manifestPath, 'application/json');
if (!remote) {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(stampFile, manifest.buildKey);
}
