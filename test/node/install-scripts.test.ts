/**
 * The install policy: every dependency with an install script is reviewed in package.json's
 * `allowScripts` (approved or denied), nothing stale is listed, npm is told to fail on an
 * unreviewed script, and CI installs with no install variables of ours.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const read = (name: string) => readFileSync(join(root, name), 'utf8');

interface LockEntry {
  hasInstallScript?: boolean;
  optional?: boolean;
  os?: string[];
}

/** Names of the locked packages that carry install scripts and can install on this OS. */
function packagesWithInstallScripts(): string[] {
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, LockEntry> };
  const names = new Set<string>();
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!entry.hasInstallScript || path === '') continue;
    if (entry.optional && entry.os && !entry.os.includes(process.platform)) continue;
    names.add(path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
  }
  return [...names].sort();
}

describe('install scripts', () => {
  const pkg = JSON.parse(read('package.json')) as { allowScripts?: Record<string, boolean> };
  const policy = pkg.allowScripts ?? {};

  it('reviews every dependency install script in allowScripts, and lists nothing stale', () => {
    expect(Object.keys(policy).sort()).toEqual(packagesWithInstallScripts());
  });

  it('denies onnxruntime-node, whose script downloads from outside the npm registry', () => {
    expect(policy['onnxruntime-node']).toBe(false);
  });

  it('makes npm fail on an unreviewed install script', () => {
    expect(read('.npmrc')).toMatch(/^strict-allow-scripts=true$/m);
  });

  it('exports no install variable in CI, so CI proves the README commands as written', () => {
    expect(read('.ci/run')).not.toMatch(/ONNXRUNTIME_NODE_INSTALL|npm_config_/i);
  });
});
