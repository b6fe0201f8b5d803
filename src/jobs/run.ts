/**
 * @module jobs/run
 * A job's explanation: its images from R2, the same engine pipeline and response body as
 * `/v1/explain` (signed map links under the API's origin), the body stored beside the job.
 * A problem with the input (an undecodable image, no face) ends the job as failed; anything
 * else throws, so the Workflow step retries it.
 */
import { explanationUnits } from '../accounts/prices.js';
import { explainBody } from '../engine/explain-answer.js';
import { explainImages } from '../engine/explain-images.js';
import { loadOrt } from '../engine/ort-workerd.js';
import { ImageError } from '../image/index.js';
import { imageProblem } from '../problems/image-problem.js';
import { PROBLEMS, type ProblemDetails, ProblemError, problemBody } from '../problems/problem.js';
import { r2TenantStores } from '../store/tenant.js';
import { gradientWorkOutsideRequests } from '../worker/admission.js';
import { occlusionBuilds } from '../worker/occlusion-builds.js';
import { workerEngine } from '../worker/engine.js';
import { imageLimits } from '../worker/limits.js';
import { mapLinkTtlSeconds } from '../worker/vars.js';
import { modelRef } from '../xfv/manifest.js';
import { type ImageRef, type JobSummary, jobKeys, type JobRequest } from './db.js';
import { fetchImage, ImageFetchError } from './fetch-image.js';

export async function runJobExplanation(
  env: Env,
  { jobId, tenantId, request }: { jobId: string; tenantId: string; request: JobRequest },
): Promise<{ ok: true; units: number; summary: JobSummary } | { ok: false; problem: ProblemDetails }> {
  const limits = imageLimits(env);
  try {
    const [a, b] = await Promise.all(
      (['a', 'b'] as const).map((image) => jobImage(env, tenantId, jobId, image, request.images[image], limits.maxImageBytes)),
    );
    const engine = await workerEngine(env, loadOrt);
    const { manifest } = engine;
    const outcome = await explainImages(
      engine,
      {
        a: a!,
        b: b!,
        threshold: request.threshold,
        method: request.method,
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
        buildOcclusions: occlusionBuilds(env),
      },
    );
    const body = await explainBody(outcome, {
      origin: request.origin,
      tenantId,
      centre: request.centre,
      wanted: request.maps,
      secret: env.URL_SIGNING_SECRET,
      linkTtlSeconds: mapLinkTtlSeconds(env),
    });
    outcome.release();
    await env.DATA.put(jobKeys.result(tenantId, jobId), JSON.stringify(body), { httpMetadata: { contentType: 'application/json' } });
    const units = explanationUnits(outcome.explanation.method, [outcome.explanation.a.basis, outcome.explanation.b.basis]);
    return { ok: true, units, summary: { decision: body.decision, similarity: body.similarity, resultId: body.resultId } };
  } catch (e) {
    const problem =
      e instanceof ImageError ? imageProblem(e) : e instanceof ImageFetchError ? new ProblemError('image-unavailable', e.message) : e;
    if (problem instanceof ProblemError && PROBLEMS[problem.kind].status < 500) {
      const { type, title, status, detail } = problemBody(problem.kind, problem.message);
      return { ok: false, problem: { type, title, status, detail } };
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
