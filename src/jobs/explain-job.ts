/**
 * @module jobs/explain-job
 * `ExplainJob`, the Cloudflare Workflow behind `POST /v1/jobs`: checkpointed steps
 * explain → settle → deliver. The explanation runs once (a step's result is kept by the
 * Workflow engine, so a later delivery retry never recomputes it) through the same engine
 * pipeline as `/v1/explain`, one basis at a time behind the isolate's gradient gate; its
 * answer is stored in R2 and the job's credit reservation settled (or refunded when it
 * failed). Then, with a callback URL, the Standard-Webhooks delivery: one step per attempt,
 * a durable sleep between attempts on the documented schedule (or the receiver's
 * Retry-After); `410` disables the endpoint (for this tenant's later jobs too, until a
 * redelivery to it); the same webhook-id on every attempt.
 */
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from 'cloudflare:workers';
import { accountOf } from '../accounts/account.js';
import { bind } from '../accounts/db.js';
import { maxUnits } from '../accounts/prices.js';
import { checkOutboundUrl } from './guarded-url.js';
import { activeSecrets, findJob, jobKeys, jobSql, type JobRequest } from './db.js';
import { deliver, retryDelayMs, RETRY_SCHEDULE_MS } from './webhooks.js';
import { runJobExplanation } from './run.js';

export interface JobParams {
  jobId: string;
  tenantId: string;
  /** Only deliver again (POST /v1/jobs/{id}/redeliver): the explanation is already stored. */
  redeliver?: boolean;
}

/** What the explain step hands on (kept by the Workflow engine). */
type Computed = Awaited<ReturnType<typeof runJobExplanation>>;

export class ExplainJob extends WorkflowEntrypoint<Env, JobParams> {
  override async run(event: WorkflowEvent<JobParams>, step: WorkflowStep): Promise<unknown> {
    const { jobId, tenantId, redeliver } = event.payload;
    const db = this.env.DB;
    const job = await step.do('load', async () => {
      const row = await findJob(db, jobId, tenantId);
      if (!row) throw new Error(`job ${jobId} of ${tenantId} is missing`);
      return { ledgerId: row.ledger_id, keyId: row.key_id, callbackUrl: row.callback_url, request: row.request, status: row.status };
    });

    let computed: Computed | undefined;
    if (!redeliver) {
      computed = await step.do(
        'explain',
        { retries: { limit: 2, delay: '10 seconds', backoff: 'exponential' }, timeout: '15 minutes' },
        async () => {
          await bind(db, jobSql.running(jobId, Date.now())).run();
          return runJobExplanation(this.env, { jobId, tenantId, request: JSON.parse(job.request) as JobRequest });
        },
      );
      await step.do('settle', async () => {
        const account = accountOf(this.env, tenantId);
        if (computed!.ok) {
          await account.settle({
            id: job.ledgerId,
            tenantId,
            keyId: job.keyId,
            operation: 'job',
            units: Math.min(computed!.units, maxUnits('job')),
            at: Date.now(),
            requestId: jobId,
          });
          await bind(db, jobSql.finished(jobId, 'succeeded', null, Date.now())).run();
        } else {
          await account.refund(job.ledgerId);
          await bind(db, jobSql.finished(jobId, 'failed', JSON.stringify(computed!.problem), Date.now())).run();
        }
      });
    }
    if (!job.callbackUrl) return computed ?? { redelivered: false };

    const summary = await step.do('message', async () => webhookMessage(this.env, jobId, tenantId));
    let retryAfter: number | undefined;
    for (let attempt = 0; attempt <= RETRY_SCHEDULE_MS.length; attempt++) {
      const outcome = await step.do(`deliver ${attempt + 1}`, { retries: { limit: 0, delay: 0 }, timeout: '30 seconds' }, async () => {
        const check = checkOutboundUrl(job.callbackUrl!, { allowLoopbackHttp: this.env.KEY_ENV === 'local' });
        if (!check.ok) {
          await bind(db, jobSql.delivery(jobId, 'failed', `callbackUrl refused: ${check.reason}`, Date.now())).run();
          return { outcome: 'refused' as const, error: check.reason };
        }
        const disabled = await bind(db, jobSql.endpointDisabled(tenantId, check.url.href)).first<{ disabled_at: number }>();
        if (disabled) {
          const error = `the endpoint answered 410 Gone on ${new Date(disabled.disabled_at).toISOString()}; redeliver to enable it`;
          await bind(db, jobSql.delivery(jobId, 'disabled', error, Date.now())).run();
          return { outcome: 'refused' as const, error };
        }
        const secrets = (await activeSecrets(db, tenantId)).map((s) => s.secret);
        const result = await deliver(check.url.href, summary, secrets);
        if (result.outcome === 'gone') await bind(db, jobSql.disableEndpoint(tenantId, check.url.href, Date.now())).run();
        const last = attempt === RETRY_SCHEDULE_MS.length;
        const status = result.outcome === 'delivered' ? 'delivered' : result.outcome === 'gone' ? 'disabled' : last ? 'failed' : 'pending';
        const error = result.outcome === 'retry' ? (result.error ?? `answered ${result.status}`) : null;
        await bind(db, jobSql.delivery(jobId, status, error, Date.now())).run();
        return result;
      });
      if (outcome.outcome !== 'retry') break;
      if (attempt === RETRY_SCHEDULE_MS.length) break;
      retryAfter = outcome.retryAfterMs;
      await step.sleep(`wait ${attempt + 1}`, retryDelayMs(attempt, retryAfter));
    }
    return computed ?? { redelivered: true };
  }
}

/** The delivery: a small JSON event with links, not the maps. */
async function webhookMessage(env: Env, jobId: string, tenantId: string): Promise<{ id: string; body: string }> {
  const row = await findJob(env.DB, jobId, tenantId);
  if (!row) throw new Error(`job ${jobId} is missing`);
  const request = JSON.parse(row.request) as JobRequest;
  const succeeded = row.status === 'succeeded';
  const result = succeeded
    ? ((await (await env.DATA.get(jobKeys.result(tenantId, jobId)))?.json()) as Record<string, unknown> | null)
    : null;
  const body = {
    type: succeeded ? 'explanation.succeeded' : 'explanation.failed',
    timestamp: new Date(row.finished_at ?? Date.now()).toISOString(),
    data: {
      jobId,
      status: row.status,
      links: { job: `${request.origin}/v1/jobs/${jobId}` },
      ...(result ? { decision: result.decision, similarity: result.similarity, resultId: result.resultId } : {}),
      ...(row.error ? { error: JSON.parse(row.error) as unknown } : {}),
    },
  };
  return { id: `msg_${jobId}`, body: JSON.stringify(body) };
}
