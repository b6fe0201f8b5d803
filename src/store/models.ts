/**
 * @module store/models
 * Read the model manifest and model files from R2, checking every file's sha256 against
 * the manifest. Failures are ModelUnavailableError with a message naming the object.
 */
import type { ModelFile, ModelManifest } from '../xfv/manifest.js';
import { sha256Hex } from '../sha256.js';
import { MANIFEST_KEY, modelKey } from './keys.js';

export class ModelUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ModelUnavailableError';
  }
}

/** Checks a model file's bytes against its manifest entry (size and sha256). */
export async function checkModelFile(name: string, bytes: Uint8Array<ArrayBuffer>, file: ModelFile): Promise<Uint8Array<ArrayBuffer>> {
  if (bytes.length !== file.bytes)
    throw new ModelUnavailableError(`model file ${name} is corrupt: ${bytes.length} bytes, manifest says ${file.bytes}`);
  const hash = await sha256Hex(bytes);
  if (hash !== file.sha256) throw new ModelUnavailableError(`model file ${name} is corrupt: sha256 ${hash} does not match the manifest`);
  return bytes;
}

/** Where the manifest and the model files come from (each file checked against the manifest). */
export interface ModelSource {
  manifest(): Promise<ModelManifest>;
  file(file: ModelFile): Promise<Uint8Array<ArrayBuffer>>;
}

/** The models bucket as the engine's model source. */
export const r2ModelSource = (bucket: R2Bucket): ModelSource => ({
  manifest: () => readManifest(bucket),
  file: (file: ModelFile) => readModelFile(bucket, file),
});

export async function readManifest(bucket: R2Bucket): Promise<ModelManifest> {
  const object = await bucket.get(MANIFEST_KEY);
  if (!object)
    throw new ModelUnavailableError(`model manifest ${MANIFEST_KEY} is not in the models bucket (seed it with \`npm run seed\`)`);
  try {
    const manifest = (await object.json()) as ModelManifest;
    if (!manifest?.files?.int8 || !manifest.input || !manifest.decision) throw new Error('required fields are missing');
    return manifest;
  } catch (e) {
    throw new ModelUnavailableError(`model manifest ${MANIFEST_KEY} is invalid: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
}

/** The bytes of one model file, verified against its manifest entry. */
export async function readModelFile(bucket: R2Bucket, file: ModelFile): Promise<Uint8Array<ArrayBuffer>> {
  const key = modelKey(file.path);
  const object = await bucket.get(key);
  if (!object) throw new ModelUnavailableError(`model file ${key} is not in the models bucket`);
  return checkModelFile(key, new Uint8Array(await object.arrayBuffer()), file);
}
