/**
 * @module worker/engine
 * The isolate's engine over this Worker's bindings: the models bucket, and the photo-models
 * Worker when it is bound. Requests (api) and job steps (jobs) get it from here.
 */
import type { OrtModule } from '../engine/embed.js';
import { type Engine, getEngine } from '../engine/engine.js';
import { photoModelsService } from './photo-models.js';

export const workerEngine = (env: Pick<Env, 'MODELS' | 'PHOTO_MODELS'>, loadOrt: () => Promise<OrtModule>): Promise<Engine> =>
  getEngine({ loadOrt, bucket: env.MODELS, photoModels: photoModelsService(env) });
