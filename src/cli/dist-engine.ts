/**
 * @module cli/dist-engine
 * The engine in Node over the built models in `models/dist/` (each file checked against the
 * manifest, as the Worker checks R2), with onnxruntime-web (WASM, one thread: the Worker's
 * runtime). The CLI and the Node-side tests use it to run the Worker's own pipelines.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { type Engine, createEngine } from '../engine/engine.js';
import type { ModelSource } from '../store/models.js';
import type { OrtModule } from '../engine/embed.js';
import type { PhotoNets } from '../engine/photo.js';
import { checkModelFile } from '../store/models.js';
import type { ModelManifest } from '../xfv/manifest.js';

export const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'dist');

export function distModelSource(dir = DIST): ModelSource {
  return {
    manifest: async () => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest,
    file: (file) => checkModelFile(file.path, new Uint8Array(readFileSync(join(dir, file.path))), file),
  };
}

/**
 * The engine over models/dist with onnxruntime-web in this process (the photo models too,
 * unless `photoModels` runs them elsewhere).
 */
export function distEngine(dir = DIST, photoModels?: PhotoNets): Promise<Engine> {
  return createEngine(
    async () => {
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.proxy = false;
      ort.env.logLevel = 'error';
      return ort as unknown as OrtModule;
    },
    distModelSource(dir),
    photoModels,
  );
}
