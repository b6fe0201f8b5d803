/**
 * @module models/facenet/weights
 * Read face-api.js's weights (a tfjs weights manifest + its .bin shards) from the npm
 * package `@vladmandic/face-api`, dequantising uint8/uint16 tensors with the manifest's
 * scale and min: the recognition net by default, the detector and landmark nets by their
 * manifest names. Errors name the file and the tensor.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface Weight {
  name: string;
  shape: number[];
  data: Float32Array;
}
export type WeightMap = Map<string, Weight>;

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale: number; min: number };
}
interface ManifestGroup {
  paths: string[];
  weights: ManifestEntry[];
}

export const MANIFEST_FILE = 'face_recognition_model-weights_manifest.json';

/** The folder holding face-api's model files inside node_modules. */
export function defaultWeightsDir(): string {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve('@vladmandic/face-api');
  } catch {
    throw new Error('the npm package @vladmandic/face-api is not installed (it ships the face model weights): run `npm install`');
  }
  return join(dirname(entry), '..', 'model');
}

function readOrFail(path: string, what: string): Buffer {
  if (!existsSync(path)) throw new Error(`${what} not found: ${path}`);
  return readFileSync(path);
}

/** Load and dequantise every tensor listed in the manifest `manifestFile` in `dir`. */
export function loadWeights(dir = defaultWeightsDir(), manifestFile = MANIFEST_FILE): WeightMap {
  const manifestPath = join(dir, manifestFile);
  let groups: ManifestGroup[];
  try {
    groups = JSON.parse(readOrFail(manifestPath, 'weights manifest').toString('utf8')) as ManifestGroup[];
  } catch (e) {
    if (e instanceof SyntaxError) throw new Error(`weights manifest ${manifestPath} is not valid JSON: ${e.message}`, { cause: e });
    throw e;
  }
  const map: WeightMap = new Map();
  for (const group of groups) {
    const shard = Buffer.concat(group.paths.map((p) => readOrFail(join(dir, p), 'weights file')));
    const shardName = join(dir, group.paths.join('+'));
    let offset = 0;
    for (const entry of group.weights) {
      const count = entry.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(count);
      const q = entry.quantization;
      const bytes = q ? count * (q.dtype === 'uint8' ? 1 : 2) : count * 4;
      if (offset + bytes > shard.length) {
        throw new Error(
          `weights file ${shardName} is truncated: tensor ${entry.name} needs bytes ${offset}..${offset + bytes}, file has ${shard.length}`,
        );
      }
      if (!q) {
        if (entry.dtype === 'int32') for (let i = 0; i < count; i++) data[i] = shard.readInt32LE(offset + 4 * i);
        else if (entry.dtype === 'float32') for (let i = 0; i < count; i++) data[i] = shard.readFloatLE(offset + 4 * i);
        else throw new Error(`${manifestPath}: tensor ${entry.name} has unsupported dtype ${entry.dtype}`);
      } else if (q.dtype === 'uint8') {
        for (let i = 0; i < count; i++) data[i] = shard[offset + i]! * q.scale + q.min;
      } else if (q.dtype === 'uint16') {
        for (let i = 0; i < count; i++) data[i] = shard.readUInt16LE(offset + 2 * i) * q.scale + q.min;
      } else {
        throw new Error(`${manifestPath}: tensor ${entry.name} has unsupported quantisation ${q.dtype}`);
      }
      offset += bytes;
      map.set(entry.name, { name: entry.name, shape: entry.shape, data });
    }
  }
  return map;
}

/** The tensor `name` with exactly `shape`, or an error naming the manifest. */
export function requireWeight(map: WeightMap, name: string, shape: number[], source = MANIFEST_FILE): Weight {
  const w = map.get(name);
  if (!w) throw new Error(`${source}: tensor ${name} is missing (expected shape [${shape.join(',')}])`);
  if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`${source}: tensor ${name} has shape [${w.shape.join(',')}], expected [${shape.join(',')}]`);
  }
  return w;
}
