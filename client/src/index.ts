/**
 * @module @xfv/client
 * A typed client for the xfv-edge API, for Node ≥ 20 and browsers: verify two faces,
 * explain the decision, download maps (PNG or raw float32), run explanations as jobs. The
 * types come from the Worker's OpenAPI document (src/openapi.ts, generated); requests go
 * through openapi-fetch. Errors are thrown as XfvProblem (RFC 9457 problem details).
 */
import createClient from 'openapi-fetch';
import type { components, paths } from './openapi.js';

export type { components, paths };
export type VerifyResult = components['schemas']['VerifyResult'];
export type ExplainResult = components['schemas']['ExplainResult'];
export type Job = components['schemas']['Job'];
export type JobAccepted = components['schemas']['JobAccepted'];

/** Image bytes: a File or Blob (browsers), or bytes (Node). */
export type ImageInput = Blob | Uint8Array | ArrayBuffer;

/** How to pick a face in a photo: its index in `faces`, or a point (photo pixels) inside it. */
export type FaceChoice = { index: number } | { point: { x: number; y: number } };

export interface VerifyOptions {
  /** Decision threshold on the cosine (default: the served θ). */
  threshold?: number;
  /** photo (default): faces are found and aligned; aligned-crop: the images are face crops. */
  input?: 'photo' | 'aligned-crop';
  faces?: { a?: FaceChoice; b?: FaceChoice };
}

export interface ExplainOptions extends VerifyOptions {
  method?: 'fggb' | 'xssab' | 'gradient' | 'corrrise';
  centre?: boolean;
  smooth?: boolean;
  /** Which maps, e.g. ['a.similarity', 'b.dissimilarity'] (default all four). */
  maps?: string[];
  /** false: nothing is kept; maps come back inline as data: URIs. */
  store?: boolean;
}

export interface JobOptions extends ExplainOptions {
  /** Where the result is delivered (signed webhook); omit to poll with `job`/`waitForJob`. */
  callbackUrl?: string;
  /** Same key, same request → the same job (retries are safe). */
  idempotencyKey?: string;
}

export interface XfvClientOptions {
  /** e.g. http://127.0.0.1:8787 */
  baseUrl: string;
  /** An API key, xfv_<env>_<id>_<secret>. */
  apiKey: string;
  /** A fetch to use instead of the global one. */
  fetch?: typeof fetch;
}

/** An API error: the problem details the service answered with. */
export class XfvProblem extends Error {
  constructor(
    readonly status: number,
    readonly problem: { type?: string; title?: string; detail?: string; [key: string]: unknown },
  ) {
    super(`${status} ${problem.title ?? 'error'}: ${problem.detail ?? ''}`.trim());
    this.name = 'XfvProblem';
  }

  /** The problem type's short name, e.g. `no-face` for /problems/no-face. */
  get kind(): string | undefined {
    return this.problem.type?.split('/').pop();
  }
}

const toBlob = (image: ImageInput): Blob =>
  image instanceof Blob ? image : new Blob([image instanceof Uint8Array ? new Uint8Array(image) : image]);

/** The multipart form the API reads: a, b and the options as text fields. */
function pairForm(a: ImageInput, b: ImageInput, options: JobOptions): FormData {
  const form = new FormData();
  form.append('a', toBlob(a), 'a');
  form.append('b', toBlob(b), 'b');
  const face = (choice: FaceChoice | undefined) =>
    choice === undefined ? undefined : 'index' in choice ? String(choice.index) : `${choice.point.x},${choice.point.y}`;
  const fields: Record<string, string | undefined> = {
    threshold: options.threshold?.toString(),
    input: options.input,
    faceA: face(options.faces?.a),
    faceB: face(options.faces?.b),
    method: options.method,
    centre: options.centre?.toString(),
    smooth: options.smooth?.toString(),
    maps: options.maps?.join(','),
    store: options.store?.toString(),
    callbackUrl: options.callbackUrl,
  };
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) form.append(name, value);
  return form;
}

async function problemOf(response: Response, error: unknown): Promise<XfvProblem> {
  const problem = (typeof error === 'object' && error !== null ? error : { detail: String(error ?? '') }) as XfvProblem['problem'];
  return new XfvProblem(response.status, problem);
}

export function createXfvClient({ baseUrl, apiKey, fetch: fetchImpl }: XfvClientOptions) {
  const authorization = `Bearer ${apiKey}`;
  const doFetch = fetchImpl ?? ((input: Request) => fetch(input));
  const api = createClient<paths>({ baseUrl, headers: { Authorization: authorization }, fetch: doFetch });
  // The form is built here, so the typed body is only what openapi-fetch passes through.
  const asForm = { bodySerializer: (body: unknown) => body as FormData };

  /** GET a map link: signed links need no key; plain /v1/maps paths get the key. */
  async function download(link: string, init?: RequestInit): Promise<Response> {
    if (link.startsWith('data:')) return fetch(link);
    const url = new URL(link, baseUrl);
    const headers = new Headers(init?.headers);
    if (!url.searchParams.has('signature')) headers.set('Authorization', authorization);
    const response = await doFetch(new Request(url, { ...init, headers }));
    if (!response.ok) throw await problemOf(response, await response.json().catch(() => ({ detail: response.statusText })));
    return response;
  }

  return {
    /** The typed openapi-fetch client, for any route. */
    api,

    /** Do two images show the same person? */
    async verify(a: ImageInput, b: ImageInput, options: VerifyOptions = {}): Promise<VerifyResult> {
      const { data, error, response } = await api.POST('/v1/verify', {
        body: pairForm(a, b, options) as never,
        ...asForm,
      });
      if (error !== undefined || !data) throw await problemOf(response, error);
      return data;
    },

    /** Verify and explain: maps as links (or data: URIs with store: false), and FGGB's P and Q. */
    async explain(a: ImageInput, b: ImageInput, options: ExplainOptions = {}): Promise<ExplainResult> {
      const { data, error, response } = await api.POST('/v1/explain', {
        body: pairForm(a, b, options) as never,
        ...asForm,
      });
      if (error !== undefined || !data) throw await problemOf(response, error);
      return data;
    },

    /** A map file's bytes (PNG, float32, JSON) from a link in an answer. */
    async mapBytes(link: string): Promise<Uint8Array> {
      return new Uint8Array(await (await download(link)).arrayBuffer());
    },

    /** A raw float32 map (`.f32`, P or Q) as numbers, H×W row-major. */
    async mapValues(link: string): Promise<Float32Array> {
      const bytes = new Uint8Array(await (await download(link)).arrayBuffer());
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return Float32Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(4 * i, true));
    },

    /** Queue an explanation; poll it with `job`, or get it delivered to `callbackUrl`. */
    async createJob(a: ImageInput, b: ImageInput, options: JobOptions = {}): Promise<JobAccepted> {
      const { data, error, response } = await api.POST('/v1/jobs', {
        body: pairForm(a, b, options) as never,
        ...asForm,
        headers: options.idempotencyKey ? { 'Idempotency-Key': options.idempotencyKey } : {},
      });
      if (error !== undefined || !data) throw await problemOf(response, error);
      return data;
    },

    /** A job's state, and its result once it succeeded. */
    async job(id: string, init: { signal?: AbortSignal } = {}): Promise<Job> {
      const { data, error, response } = await api.GET('/v1/jobs/{id}', { params: { path: { id } }, signal: init.signal });
      if (error !== undefined || !data) throw await problemOf(response, error);
      return data;
    },

    /**
     * Poll a job until it succeeds (its result) or fails (an XfvProblem); `onProgress` sees
     * each state. A poll that fails in transit, times out (`pollTimeoutMs`) or meets a 5xx is
     * retried at the next interval; a 4xx ends the wait.
     */
    async waitForJob(
      id: string,
      {
        intervalMs = 1000,
        pollTimeoutMs = 15_000,
        signal,
        onProgress,
      }: { intervalMs?: number; pollTimeoutMs?: number; signal?: AbortSignal; onProgress?: (job: Job) => void } = {},
    ): Promise<ExplainResult> {
      for (; ; await new Promise((resolve) => setTimeout(resolve, intervalMs))) {
        signal?.throwIfAborted();
        let job: Job;
        try {
          const timeout = AbortSignal.timeout(pollTimeoutMs);
          job = await this.job(id, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
        } catch (e) {
          if (signal?.aborted || (e instanceof XfvProblem && e.status < 500)) throw e;
          continue;
        }
        onProgress?.(job);
        if (job.status === 'succeeded' && job.result) return job.result;
        if (job.status === 'failed') throw new XfvProblem(job.error?.status ?? 500, job.error ?? { detail: 'the job failed' });
      }
    },
  };
}

export type XfvClient = ReturnType<typeof createXfvClient>;
