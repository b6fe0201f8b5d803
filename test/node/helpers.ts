/**
 * Shared helpers for the node tests: the test faces (skipped with a message when
 * ../shared/faces is missing, a failure under CI) and the built model files.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe } from 'vitest';
import { DIST_DIR } from '../../models/build.js';
import type { ModelManifest } from '../../src/xfv/manifest.js';
import { FACES_DIR, facesAvailable } from '../../eval/lib/faces.js';

const available = facesAvailable();
if (!available && process.env.CI === 'true') {
  throw new Error(`test faces are missing at ${FACES_DIR}: CI must run with ../shared beside the clone`);
}
if (!available) console.warn(`[skip] face tests: ${FACES_DIR} is missing (a fresh clone without ../shared)`);

/** describe() that runs only when the test faces are present. */
export const describeWithFaces = available ? describe : describe.skip;

export function distManifest(): ModelManifest {
  return JSON.parse(readFileSync(join(DIST_DIR, 'manifest.json'), 'utf8')) as ModelManifest;
}

export function distFile(which: keyof ModelManifest['files']): Uint8Array {
  const f = distManifest().files[which];
  if (!f) throw new Error(`models/dist has no ${which} model: run npm run models`);
  return readFileSync(join(DIST_DIR, f.path));
}

export function cosineF(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return d / Math.sqrt(na * nb);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
