/**
 * @module bench/api
 * `npm run bench:api`: the Worker under `wrangler dev` on loopback.
 *  - cold start: the first /v1/verify after the server answers /healthz (ORT init + model
 *    load from the local R2 + first inference);
 *  - warm /v1/verify latency p50/p95 over ≥ 200 sequential requests, with the share the
 *    server reports for decode, preprocess and inference (response `timing`);
 *  - the same for two photos, each request right after a crop-pair one, with the median
 *    ratio of the two (the machine's drift cancels in it);
 *  - a bounded load run (autocannon, 2 connections, 20 s) reporting
 *    throughput and that no request failed.
 * Baseline in the same run: GET /healthz (the Worker's fixed cost without the model).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { FACES_DIR, REPO_ROOT } from '../eval/lib/faces.js';
import { fmt, machine, markdownTable, median, quantile, spliceBenchmarks, writeResults } from './lib/report.js';
import { multipart } from './lib/multipart.js';
import { startWranglerDev } from './lib/wrangler-dev.js';

const WARM = Number(process.env.BENCH_RUNS ?? 200);

/**
 * Photo-pair requests, each right after a crop-pair one: the machine's speed drifts by 1.5×
 * within minutes (docs/photos.md), so the photo pair is compared with the crop pair sent
 * just before it, not with the 200 crop requests minutes earlier.
 */
const PHOTO_RUNS = 40;
const PHOTO_FILES = ['obama_1.jpg', 'obama_3.jpg'];
/** The target for that pair's warm p50 under wrangler dev (bench/photo-floor.ts holds it too). */
const PHOTO_TARGET_MS = 150;

/** Two group photos: their small faces take the full detector pass after the quick one. */
const GROUP_FILES = ['multiface.jpg', 'obama_and_biden.jpg'];

/** A pair of development photos, or undefined without ../shared/faces/photos. */
function photoPair(folder = 'single', files = PHOTO_FILES): { body: Buffer; type: string } | undefined {
  const paths = files.map((f) => join(FACES_DIR, 'photos', folder, f));
  if (!paths.every(existsSync)) return undefined;
  return multipart(readFileSync(paths[0]!), readFileSync(paths[1]!), 'photo');
}

async function main() {
  const faces = (p: string) => {
    try {
      return readFileSync(join(FACES_DIR, 'bbt', p));
    } catch {
      return readFileSync(join(REPO_ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo', 'sample1.jpg'));
    }
  };
  const { body, type } = multipart(faces('amy/amy1.png'), faces('raj/raj2.png'));
  const server = await startWranglerDev();
  try {
    const verify = async (request = { body, type }) => {
      const t = performance.now();
      const res = await fetch(`${server.url}/v1/verify`, {
        method: 'POST',
        headers: { 'content-type': request.type, ...server.auth },
        body: new Uint8Array(request.body),
      });
      const json = (await res.json()) as {
        timing?: { decodeMs: number; detectMs: number; landmarksMs: number; preprocessMs: number; inferenceMs: number; totalMs: number };
      };
      if (res.status !== 200) throw new Error(`verify answered ${res.status}: ${JSON.stringify(json)}`);
      return { ms: performance.now() - t, timing: json.timing! };
    };
    const cold = await verify();
    console.log(`ready ${fmt(server.readyMs)} ms, cold verify ${fmt(cold.ms)} ms`);
    const health: number[] = [];
    for (let i = 0; i < WARM; i++) {
      const t = performance.now();
      await (await fetch(`${server.url}/healthz`)).text();
      health.push(performance.now() - t);
    }
    const warm: Awaited<ReturnType<typeof verify>>[] = [];
    for (let i = 0; i < WARM; i++) warm.push(await verify());
    const lat = warm.map((w) => w.ms);
    const share = (k: 'decodeMs' | 'preprocessMs' | 'inferenceMs') => median(warm.map((w) => w.timing[k]));
    console.log(`warm verify p50 ${fmt(median(lat))} ms p95 ${fmt(quantile(lat, 0.95))} ms`);

    // Photos: two ~1 and ~3.4 MP JPEGs (the photo path: decode, detect, landmarks, align, embed).
    const photos = photoPair();
    const photoRuns: Awaited<ReturnType<typeof verify>>[] = [];
    const pairedCropMs: number[] = [];
    if (photos) {
      await verify(photos);
      for (let i = 0; i < PHOTO_RUNS; i++) {
        pairedCropMs.push((await verify()).ms);
        photoRuns.push(await verify(photos));
      }
    }
    // The photo-models Worker's wasm heap (its own isolate): after the pair above (both of
    // its photos stand at the quick detector pass), then after a group pair (the full pass too).
    const photoModelsHeapMB = async () =>
      ((
        (await (await fetch(`${server.url}/v1/models`, { headers: server.auth })).json()) as {
          runtime: { photoModelsWasmHeapBytes: number | null };
        }
      ).runtime.photoModelsWasmHeapBytes ?? 0) /
      2 ** 20;
    const group = photoPair('group', GROUP_FILES);
    let photoModelsHeap: { afterPair: number; afterGroups: number } | null = null;
    if (photos && group) {
      const afterPair = await photoModelsHeapMB();
      await verify(group);
      photoModelsHeap = { afterPair, afterGroups: await photoModelsHeapMB() };
    }
    const photoMs = photoRuns.map((r) => r.ms);
    // Each photo request against the crop request just before it.
    const pairedRatio = median(photoMs.map((ms, i) => ms / pairedCropMs[i]!));
    const photoShare = (k: 'decodeMs' | 'detectMs' | 'landmarksMs' | 'preprocessMs' | 'inferenceMs') =>
      median(photoRuns.map((r) => r.timing[k]));

    const load = await autocannon({
      url: `${server.url}/v1/verify`,
      method: 'POST',
      headers: { 'content-type': type, ...server.auth },
      body,
      connections: 2,
      duration: 20,
    });
    const failed = load.errors + load.timeouts + load.non2xx;
    console.log(`load: ${load.requests.average} req/s, ${load['2xx']} ok, ${failed} failed`);

    const result = {
      machine: machine(),
      readyMs: server.readyMs,
      coldVerifyMs: cold.ms,
      coldTiming: cold.timing,
      warm: {
        runs: WARM,
        p50: median(lat),
        p95: quantile(lat, 0.95),
        decodeMs: share('decodeMs'),
        preprocessMs: share('preprocessMs'),
        inferenceMs: share('inferenceMs'),
      },
      healthz: { p50: median(health), p95: quantile(health, 0.95) },
      photos: photos
        ? {
            files: PHOTO_FILES,
            runs: PHOTO_RUNS,
            p50: median(photoMs),
            p95: quantile(photoMs, 0.95),
            interleavedCropP50: median(pairedCropMs),
            pairedRatio,
            decodeMs: photoShare('decodeMs'),
            detectMs: photoShare('detectMs'),
            landmarksMs: photoShare('landmarksMs'),
            alignMs: photoShare('preprocessMs'),
            inferenceMs: photoShare('inferenceMs'),
            photoModelsHeapMB: photoModelsHeap,
          }
        : null,
      load: {
        connections: 2,
        durationS: load.duration,
        requests: load.requests.total,
        ok: load['2xx'],
        failed,
        reqPerSec: load.requests.average,
        latencyP50: load.latency.p50,
        latencyP97_5: load.latency.p97_5,
      },
    };
    const path = writeResults('api', result);
    const w = result.warm;
    const table = markdownTable(
      ['measure', 'value'],
      [
        ['wrangler dev ready (spawn → first /healthz)', `${fmt(result.readyMs)} ms`],
        ['cold /v1/verify (ORT init + model load from R2 + inference)', `${fmt(result.coldVerifyMs)} ms`],
        [`warm /v1/verify p50 / p95 (${WARM} sequential)`, `${fmt(w.p50)} / ${fmt(w.p95)} ms`],
        [
          '… of which decode / preprocess / inference (server medians)',
          `${fmt(w.decodeMs)} / ${fmt(w.preprocessMs)} / ${fmt(w.inferenceMs)} ms`,
        ],
        ...(result.photos
          ? [
              [
                `warm /v1/verify of two photos p50 / p95 (${PHOTO_RUNS} sequential, each after a crop pair; ${PHOTO_FILES.join(', ')})`,
                `${fmt(result.photos.p50)} / ${fmt(result.photos.p95)} ms`,
              ],
              [
                '… of which decode / detect / landmarks / align / embed (server medians, both photos)',
                `${fmt(result.photos.decodeMs)} / ${fmt(result.photos.detectMs)} / ${fmt(result.photos.landmarksMs)} / ${fmt(result.photos.alignMs)} / ${fmt(result.photos.inferenceMs)} ms`,
              ],
              [
                'the two photos against the crop pair sent just before each (its p50; the median of the ratios)',
                `${fmt(result.photos.interleavedCropP50)} ms; ${result.photos.pairedRatio.toFixed(2)}× (the ${PHOTO_TARGET_MS} ms target needs a crop pair of ${fmt(PHOTO_TARGET_MS / result.photos.pairedRatio)} ms)`,
              ],
              ...(result.photos.photoModelsHeapMB
                ? [
                    [
                      `photo-models Worker's wasm heaps (onnxruntime + JPEG decoders): after those photos (first detector passes only) / after ${GROUP_FILES.join(' + ')} (full pass too)`,
                      `${result.photos.photoModelsHeapMB.afterPair.toFixed(1)} / ${result.photos.photoModelsHeapMB.afterGroups.toFixed(1)} MB`,
                    ],
                  ]
                : []),
            ]
          : []),
        [
          'baseline: GET /healthz p50 (same run)',
          `${fmt(result.healthz.p50)} ms (verify = ${(w.p50 / result.healthz.p50).toFixed(1)}× healthz)`,
        ],
        [
          'load: autocannon, 2 connections, 20 s',
          `${result.load.reqPerSec.toFixed(1)} req/s, p50 ${result.load.latencyP50} ms, ${result.load.ok} ok, ${failed} failed`,
        ],
      ],
    );
    spliceBenchmarks(
      'api',
      `${table}\n\n_Crop rows: two 150×150 PNG faces per request (\`input=aligned-crop\`); photo rows: two JPEG photos (\`input=photo\`); loopback, ${result.machine.date.slice(0, 10)}. Reproduce: \`npm run bench:api\`._`,
    );
    console.log(`\n${table}\nwrote ${path}`);
  } finally {
    await server.stop();
  }
}

await main();
