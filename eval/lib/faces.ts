/**
 * @module eval/lib/faces
 * Node-side access to the labelled face crops in `../shared/faces` (pairs.tsv + PNGs),
 * decoded and preprocessed with the same `src/image` code as the Worker.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RgbImage, decodeImage, toModelInput } from '../../src/image/index.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FACES_DIR = resolve(REPO_ROOT, '..', 'shared', 'faces');
export const BBT_PAIRS = join(FACES_DIR, 'bbt', 'pairs.tsv');
export const PHOTOS_DIR = join(FACES_DIR, 'photos');

/** Faces in each development group photo (`photos/group/`), counted by eye. */
export const GROUP_FACE_COUNTS: Record<string, number> = {
  'two_people.jpg': 2,
  'obama_and_biden.jpg': 2,
  'harington_and_leslie.jpg': 2,
  'longoria_and_cooper.jpg': 2,
  'multiface.jpg': 6,
  'obama_partial_face.jpg': 1,
  'rgba_32bit.png': 1,
};

/** Each `photos/stress/` file and the `photos/single/` original it was made from. */
export const STRESS_ORIGINALS: [string, string][] = [
  ['obama_2_exif6.jpg', 'single/obama_2.jpg'],
  ['biden_2_exif3.jpg', 'single/biden_2.jpg'],
  ['lacamoire_2_12mp.jpg', 'single/lacamoire_2.jpg'],
  ['obama_1_20mp.jpg', 'single/obama_1.jpg'],
];

export const FACE_SPEC = { size: 150, mean: [122.782, 117.001, 104.298] as [number, number, number], scale: 1 / 255 };

export interface LabelledPair {
  a: string;
  b: string;
  same: boolean;
}

export function facesAvailable(): boolean {
  return existsSync(BBT_PAIRS);
}

/** Parse a pairs file (tab-separated `a b same`, header line, paths relative to the file). */
export function loadPairs(path = BBT_PAIRS): { pairs: LabelledPair[]; images: string[] } {
  if (!existsSync(path)) throw new Error(`pairs file not found: ${path}`);
  const base = dirname(path);
  const lines = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim());
  const header = lines.shift()?.split('\t') ?? [];
  const [ia, ib, is] = ['a', 'b', 'same'].map((k) => header.indexOf(k));
  if (ia! < 0 || ib! < 0 || is! < 0) throw new Error(`${path}: header must name columns a, b, same`);
  const pairs = lines.map((line, i) => {
    const cols = line.split('\t');
    const same = cols[is!]?.trim();
    if (same !== '0' && same !== '1') throw new Error(`${path}:${i + 2}: same must be 0 or 1`);
    return { a: resolve(base, cols[ia!]!.trim()), b: resolve(base, cols[ib!]!.trim()), same: same === '1' };
  });
  const images = [...new Set(pairs.flatMap((p) => [p.a, p.b]))].sort();
  return { pairs, images };
}

export function loadRgb(path: string): RgbImage {
  return decodeImage(readFileSync(path));
}

export function loadModelInput(path: string): Float32Array {
  return toModelInput(loadRgb(path), FACE_SPEC);
}

/** HWC RGB floats for the TFJS oracle. */
export function rgbFloats(img: RgbImage): Float32Array {
  return Float32Array.from(img.data);
}
