/**
 * @module worker/occlusion-builds
 * How the Worker's explanations build a new image's CorrRISE occlusion embeddings: in the
 * builder object named by their key (worker/occlusion-builder), split over OCCLUSION_SHARDS
 * objects (default 4). A request waiting for a build first hands back its image slot
 * (worker/admission): it holds no decoded image while it waits.
 */
import type { OcclusionBuildRequest } from '../engine/explain-images.js';
import { intVar } from './vars.js';

export const OCCLUSION_SHARDS_DEFAULT = 4;

/** Where an image's build runs: the builder object named by its key (no runtime import of the class: Node tools load this module). */
export function occlusionBuilder(env: Pick<Env, 'OCCLUSION_BUILDER'>, key: string) {
  return env.OCCLUSION_BUILDER.get(env.OCCLUSION_BUILDER.idFromName(key));
}

export const occlusionBuilds =
  (env: Pick<Env, 'OCCLUSION_BUILDER' | 'OCCLUSION_SHARDS'>, releaseImageSlot?: () => void) =>
  async (build: OcclusionBuildRequest): Promise<void> => {
    releaseImageSlot?.();
    await occlusionBuilder(env, build.key).build({ ...build, shards: intVar(env.OCCLUSION_SHARDS, OCCLUSION_SHARDS_DEFAULT) });
  };
