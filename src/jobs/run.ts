/**
 * @module jobs/run
 * A job's explanation: its images from R2, the same engine pipeline and response body as
 * `/v1/explain` (signed map links under the API's origin), the body stored beside the job.
 * A problem with the input (an undecodable image, no face) ends the job as failed; anything
 * else throws, so the Workflow step retries it.
 */
import { explanationUnits } from '../accounts/prices.js';
import { gradientWorkOutsideRequests } from '../api/admission.js';
import { explainBody } from '../api/explain.js';
import { imageProblem } from '../api/images.js';
import { imageLimits } from '../api/limits.js';
import { ProblemError, PROBLEMS } from '../api/problem.js';
import { getEngine } from '../engine/engine.js';
import { photoModelsService } from '../api/photo-models.js';
import { explainImages } from '../engine/explain.js';
import { loadOrt } from '../engine/ort-workerd.js';
import { ImageError } from '../image/index.js';
import { r2TenantStores } from '../store/tenant.js';
import { modelRef } from '../xfv/manifest.js';
import type { ExplainMethod } from '../engine/explanation.js';
import { type ImageRef, jobKeys, type JobRequest } from './db.js';
import { fetchImage, ImageFetchError } from './fetch-image.js';
import type { JobProblem, JobSummary } from './explain-job.js';

export async function runJobExplanation(
  env: Env,
  { jobId, tenantId, request }: { jobId: string; tenantId: string; request: JobRequest },
): Promise<{ ok: true; units: number; summary: JobSummary } | { ok: false; problem: JobProblem }> {
  const limits = imageLimits(env);
  try {
    const [a, b] = await Promise.all(
      (['a', 'b'] as const).map((image) => jobImage(env, tenantId, jobId, image, request.images[image], limits.maxImageBytes)),
    );
    const engine = await getEngine({ loadOrt, bucket: env.MODELS, photoModels: photoModelsService(env) });
    const { manifest } = engine;
    const outcome = await explainImages(
      engine,
      {
        a: a!,
        b: b!,
        threshold: request.threshold,
        method: request.method as ExplainMethod,
        centre: request.centre,
        smooth: request.smooth,
        store: true,
        input: request.input,
        faces: request.faces,
      },
      {
        limits,
        stores: r2TenantStores(env.DATA, tenantId, modelRef(manifest), manifest.output.size),
        gradientWork: gradientWorkOutsideRequests(env),
      },
    );
    const body = await explainBody(outcome, {
      origin: request.origin,
      tenantId,
      centre: request.centre,
      wanted: request.maps,
      secret: env.URL_SIGNING_SECRET,
      ttlVar: env.MAP_URL_TTL_SECONDS,
    });
    outcome.release();
    await env.DATA.put(jobKeys.result(tenantId, jobId), JSON.stringify(body), { httpMetadata: { contentType: 'application/json' } });
    const units = explanationUnits(outcome.explanation.method, [outcome.explanation.a.basis, outcome.explanation.b.basis]);
    return { ok: true, units, summary: { decision: body.decision, similarity: body.similarity, resultId: body.resultId } };
  } catch (e) {
    const problem =
      e instanceof ImageError ? imageProblem(e) : e instanceof ImageFetchError ? new ProblemError('image-unavailable', e.message) : e;
    if (problem instanceof ProblemError && PROBLEMS[problem.kind].status < 500) {
      const { status, title } = PROBLEMS[problem.kind];
      return { ok: false, problem: { type: `/problems/${problem.kind}`, title, status, detail: problem.message } };
    }
    throw e;
  }
}

/** A job's image: kept beside it, an upload, or fetched (guarded) from its URL. */
async function jobImage(
  env: Env,
  tenantId: string,
  jobId: string,
  image: 'a' | 'b',
  ref: ImageRef,
  maxBytes: number,
): Promise<Blob | Uint8Array> {
  if ('url' in ref) return fetchImage(ref.url, { maxBytes, allowLoopbackHttp: env.KEY_ENV === 'local' });
  const key = 'upload' in ref ? jobKeys.upload(tenantId, ref.upload) : jobKeys.image(tenantId, jobId, image);
  const object = await env.DATA.get(key);
  if (!object) throw new ProblemError('image-unavailable', `image ${image} is no longer stored`);
  return object.blob();
}
