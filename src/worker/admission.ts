/**
 * @module worker/admission
 * Per-isolate admission gates, so concurrent requests cannot push the isolate past its
 * memory (docs/explanations.md, memory). Requests that carry images (/v1/verify,
 * /v1/explain) take one of IMAGE_CONCURRENCY slots (default 4) before their body is read;
 * up to IMAGE_QUEUE more wait (default 64), each for at most IMAGE_QUEUE_SECONDS (default
 * 20). Photos are decoded and searched for faces PHOTO_CONCURRENCY at a time (default 1)
 * within those slots. Work on the gradient graph (new bases, baselines) runs one
 * explanation at a time, outside those slots, with up to GRADIENT_QUEUE waiting (default
 * 4). Beyond a queue, or past the wait: 503 `busy` with Retry-After.
 */
import { Gate, GateFullError } from '../engine/gate.js';
import { ProblemError } from '../problems/problem.js';
import { intVar } from './vars.js';

export const ADMISSION_DEFAULTS = {
  imageConcurrency: 4,
  imageQueue: 64,
  imageQueueSeconds: 20,
  photoConcurrency: 1,
  gradientQueue: 4,
} as const;

// One gate per configuration (the vars are the same for every request of a deployment).
const gates = new Map<string, Gate>();
// A slot held longer than maxHoldMs is presumed abandoned by a cancelled request and taken
// back (engine/gate): an image slot is held for a body and a cached combination (well
// under a second; a cold isolate also loads the models in it), a gradient slot for two bases.
function gate(name: string, limit: number, maxQueued: number, maxHoldMs: number, maxWaitMs = Number.POSITIVE_INFINITY): Gate {
  const key = `${name}/${limit}/${maxQueued}/${maxWaitMs}`;
  const g = gates.get(key) ?? new Gate(name, limit, maxQueued, { maxHoldMs, maxWaitMs });
  gates.set(key, g);
  return g;
}

/** One gate's load now, and the most it held at once since the isolate started. */
export interface GateLoad {
  running: number;
  waiting: number;
  peakRunning: number;
  peakWaiting: number;
}

/** This isolate's gates (summed over configurations; peaks: the largest of any one). */
export function admissionLoad(): Record<'images' | 'photos' | 'gradient', GateLoad> {
  const empty = (): GateLoad => ({ running: 0, waiting: 0, peakRunning: 0, peakWaiting: 0 });
  const load = { images: empty(), photos: empty(), gradient: empty() };
  for (const g of gates.values()) {
    const slot = load[g.name as keyof typeof load];
    if (!slot) continue;
    slot.running += g.load.running;
    slot.waiting += g.load.waiting;
    slot.peakRunning = Math.max(slot.peakRunning, g.peak.running);
    slot.peakWaiting = Math.max(slot.peakWaiting, g.peak.waiting);
  }
  return load;
}

/** A slot of `g`, or a 503 `busy` problem asking to retry after `retryAfterSeconds`. */
async function acquireOrBusy(g: Gate, retryAfterSeconds: number): Promise<() => void> {
  try {
    return await g.acquire();
  } catch (e) {
    if (!(e instanceof GateFullError)) throw e;
    const what =
      e.gate === 'gradient'
        ? 'explanations computing new gradient bases'
        : e.gate === 'photos'
          ? 'photos being prepared'
          : 'requests with images';
    throw new ProblemError(
      'busy',
      e.waitedMs === undefined
        ? `this instance already has ${e.limit} ${what} running and ${e.maxQueued} waiting; retry in ${retryAfterSeconds} s`
        : `this instance is overloaded: no slot for ${what} came free in ${Math.round(e.waitedMs / 1000)} s; retry in ${retryAfterSeconds} s`,
      {},
      { 'Retry-After': String(retryAfterSeconds) },
    );
  }
}

/** An image slot of this isolate (api/middleware/image-slot holds one per request that carries images): its release. */
export function acquireImageSlot(env: Env): Promise<() => void> {
  const g = gate(
    'images',
    intVar(env.IMAGE_CONCURRENCY, ADMISSION_DEFAULTS.imageConcurrency),
    intVar(env.IMAGE_QUEUE, ADMISSION_DEFAULTS.imageQueue, { min: 0 }),
    60_000,
    1000 * intVar(env.IMAGE_QUEUE_SECONDS, ADMISSION_DEFAULTS.imageQueueSeconds),
  );
  return acquireOrBusy(g, 1);
}

/** Run tasks in a slot of `g` (503 `busy` asking to retry after `retryAfterSeconds` when none comes), after `before`. */
function inSlot(g: Gate, retryAfterSeconds: number, before?: () => void) {
  return async <T>(task: () => Promise<T>): Promise<T> => {
    before?.();
    const release = await acquireOrBusy(g, retryAfterSeconds);
    try {
      return await task();
    } finally {
      release();
    }
  };
}

const gradientGate = (env: Env) => gate('gradient', 1, intVar(env.GRADIENT_QUEUE, ADMISSION_DEFAULTS.gradientQueue, { min: 0 }), 120_000);

/**
 * The wrapper for a request's gradient-graph work: it frees the request's image slot first
 * (`releaseImageSlot`: a basis takes seconds; cached pairs should not wait behind it), then
 * queues for the graph.
 */
export function gradientWorkFreeingImageSlot(env: Env, releaseImageSlot: (() => void) | undefined) {
  return inSlot(gradientGate(env), 10, releaseImageSlot);
}

/**
 * The photo gate: a photo's decode, detection and alignment (synchronous work and a
 * decoded image in memory) run PHOTO_CONCURRENCY at a time in the isolate (default 1),
 * inside the request's image slot; waiting is bounded like the image queue.
 */
export function photoWork(env: Env) {
  const g = gate(
    'photos',
    intVar(env.PHOTO_CONCURRENCY, ADMISSION_DEFAULTS.photoConcurrency),
    intVar(env.IMAGE_QUEUE, ADMISSION_DEFAULTS.imageQueue, { min: 0 }) + intVar(env.IMAGE_CONCURRENCY, ADMISSION_DEFAULTS.imageConcurrency),
    60_000,
    1000 * intVar(env.IMAGE_QUEUE_SECONDS, ADMISSION_DEFAULTS.imageQueueSeconds),
  );
  return inSlot(g, 2);
}

/** The same gradient gate for work outside a request (a job's Workflow step): no image slot to free. */
export function gradientWorkOutsideRequests(env: Env) {
  return inSlot(gradientGate(env), 10);
}
