/**
 * @module bench/photo-floor
 * `npm run bench:photo-floor`: how much of the two-photo verify is work that no scheduling
 * removes. Under Node, in one process, warm, on the `bench:api` pair (obama_1.jpg,
 * obama_3.jpg): each photo's served steps timed alone (the JPEG decoded at the served DCT
 * scale, the tiny detector on the served frame, the landmark net on one face, the int8
 * embedding of one chip), their sum (the floor of a single-threaded pipeline: onnxruntime-web
 * wasm, 1 thread, as in the Worker), and the whole in-process pipeline (engine/inputs
 * `prepareInput` + embedding, no HTTP, no RPC) against it. Baseline in the same run: the
 * crop pair's work (two embeddings). Writes bench/results/photo-floor.json and its table in
 * docs/benchmarks.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PHOTOS_DIR } from '../eval/lib/faces.js';
import { distEngine } from '../src/cli/dist-engine.js';
import { LOCAL_LIMITS, scaledJpegDecoder } from '../src/cli/shrink.js';
import { detectorFrameInput } from '../src/engine/faces.js';
import { DETECT_SIDE } from '../src/engine/image-decode.js';
import { prepareInput } from '../src/engine/inputs.js';
import { eighthsFor } from '../src/image/jpeg-scaled.js';
import { readHeader } from '../src/image/index.js';
import { scaledPlanar } from '../src/image/warp.js';
import { fmt, machine, markdownTable, median, ratio, spliceBenchmarks, timeRuns, writeResults } from './lib/report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 40);
/** The pair `bench:api` times (and the latency target names). */
const PAIR = ['obama_1.jpg', 'obama_3.jpg'];
/** The target for a warm two-photo verify under wrangler dev on this machine. */
const TARGET_MS = 150;

/** One photo's steps, medians in ms. */
interface FloorRow {
  photo: string;
  size: string;
  decodedAt: string;
  frame: string;
  jpegMs: number;
  detectMs: number;
  landmarksMs: number;
  embedMs: number;
  pipelineMs: number;
}

async function main() {
  const engine = await distEngine();
  const runner = await engine.photo();
  const tiny = runner.models.tinyDetector;
  if (!tiny) throw new Error('the manifest has no tiny detector: rebuild the models (npx tsx models/build.ts)');
  const l = runner.models.landmarks.size;
  const photos: FloorRow[] = [];
  for (const name of PAIR) {
    const bytes = new Uint8Array(readFileSync(join(PHOTOS_DIR, 'single', name)));
    const header = readHeader(bytes, { maxPixels: LOCAL_LIMITS.maxPixels });
    const eighths = eighthsFor(Math.max(header.width, header.height), DETECT_SIDE);
    const jpeg = await timeRuns(() => scaledJpegDecoder().decode(bytes, eighths), RUNS);
    const img = scaledJpegDecoder().decode(bytes, eighths)!;
    const { x, frame } = detectorFrameInput(img, tiny.size);
    const detect = await timeRuns(() => runner.detect(x, 'tiny', frame), RUNS);
    const face = scaledPlanar(img, Math.max(img.width, img.height) / l, l);
    const landmarks = await timeRuns(() => runner.landmarks([face]), RUNS);
    const prepared = await prepareInput(engine, name, bytes, { limits: LOCAL_LIMITS });
    const embed = await timeRuns(() => engine.embed([prepared.input]), RUNS);
    const pipeline = await timeRuns(
      async () => engine.embed([(await prepareInput(engine, name, bytes, { limits: LOCAL_LIMITS })).input]),
      RUNS,
    );
    const row: FloorRow = {
      photo: name,
      size: `${header.width}×${header.height}`,
      decodedAt: `${eighths}/8 (${img.width}×${img.height})`,
      frame: `${frame.width}×${frame.height}`,
      jpegMs: median(jpeg),
      detectMs: median(detect),
      landmarksMs: median(landmarks),
      embedMs: median(embed),
      pipelineMs: median(pipeline),
    };
    photos.push(row);
    console.log(JSON.stringify(row));
  }
  const sum = (k: 'jpegMs' | 'detectMs' | 'landmarksMs' | 'embedMs' | 'pipelineMs') => photos.reduce((s, p) => s + p[k], 0);
  const floor = sum('jpegMs') + sum('detectMs') + sum('landmarksMs') + sum('embedMs');
  const nets = sum('detectMs') + sum('landmarksMs') + sum('embedMs');
  const cropWork = sum('embedMs');
  const pipeline = sum('pipelineMs');
  writeResults('photo-floor', {
    machine: machine(),
    runs: RUNS,
    targetMs: TARGET_MS,
    photos,
    floorMs: floor,
    netsMs: nets,
    pipelineMs: pipeline,
  });
  const table = markdownTable(
    ['step (both photos, medians of warm runs)', 'ms', 'vs the crop pair’s work (two embeddings)'],
    [
      ...(['jpegMs', 'detectMs', 'landmarksMs', 'embedMs'] as const).map((k, i) => [
        [
          `JPEG decode at the served DCT scale (${photos.map((p) => p.decodedAt).join(', ')})`,
          `tiny detector on the served frame (${photos.map((p) => p.frame).join(', ')})`,
          `landmark net, one ${l}×${l} face each`,
          'int8 embedding, one chip each',
        ][i]!,
        fmt(sum(k)),
        ratio(sum(k) / cropWork),
      ]),
      ['**floor: the four steps, one after another** (the nets alone)', `**${fmt(floor)}** (${fmt(nets)})`, ratio(floor / cropWork)],
      [
        'the whole pipeline in process (decode, detect, landmarks, align, embed; no HTTP, no RPC)',
        fmt(pipeline),
        ratio(pipeline / cropWork),
      ],
      ['the issue’s target for the same pair under wrangler dev', String(TARGET_MS), ratio(TARGET_MS / cropWork)],
    ],
  );
  spliceBenchmarks(
    'photo-floor',
    `${table}\n\n_${PAIR.join(' + ')} (${photos.map((p) => p.size).join(', ')}), each step alone, ${RUNS} warm runs; onnxruntime-web wasm, 1 thread, and libjpeg-turbo wasm under Node ${process.version} (the Worker's runtimes), ${new Date().toISOString().slice(0, 10)}. Reproduce: \`npm run bench:photo-floor\`._`,
  );
  console.log(`floor ${fmt(floor)} ms (nets ${fmt(nets)} ms), in-process pipeline ${fmt(pipeline)} ms, target ${TARGET_MS} ms`);
}

main().catch((e: unknown) => {
  console.error(`bench:photo-floor: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
