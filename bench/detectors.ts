/**
 * @module bench/detectors
 * `npm run bench:detectors`: the two face detectors face-api ships, as ONNX in
 * onnxruntime-web (wasm, 1 thread, under Node), on every development photo
 * (../shared/faces/photos: single/ and group/): faces found per photo against the truth
 * (one per single photo; the group counts), median detector latency, and the wasm heap
 * after loading the detector and running it (each configuration in its own process, after
 * the int8 embedding model, as in the Worker). SSD MobileNetV1 in QDQ int8 at 512 (served,
 * the full pass) and 320 (served, the quick pass; priors generated for its size) and 256, in
 * fp32 at 512 (weights as external data), vs Tiny Face Detector at 352 (served, the first pass) / 416 / 512 / 608. Each row
 * runs alone (no cascade): how the served cascade splits the photos is `npm run eval:photos`.
 * Writes bench/results/detectors.json and its table in docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDetectorCalibration } from '../models/build.js';
import { loadWeights } from '../models/facenet/weights.js';
import { externaliseWeights } from '../models/onnx/external.js';
import { SSD_MANIFEST, buildSsd } from '../models/photo/ssd.js';
import { TINY_ANCHORS, TINY_MANIFEST, buildTinyDetector, decodeTiny } from '../models/photo/tiny.js';
import { decodeSsd, nonMaxSuppression, ssdPriors } from '../src/face/ssd.js';
import { detectorFrameInput, detectorInput } from '../src/engine/faces.js';
import { externalWeights } from '../src/engine/gradient.js';
import { decodeImage } from '../src/image/index.js';
import { exifOrientation, orientUpright } from '../src/image/orientation.js';
import { GROUP_FACE_COUNTS, PHOTOS_DIR, REPO_ROOT } from '../eval/lib/faces.js';
import { probeWasmHeap } from './lib/wasm-heap.js';
import { machine, markdownTable, median, spliceBenchmarks, writeResults } from './lib/report.js';

const PHOTOS = PHOTOS_DIR;
/** `tiny-frame`: the tiny detector on the photo's own aspect ratio (engine/faces `detectorFrameInput`, as served); `tiny`: on face-api's padded square. */
const CONFIGS = [
  'ssd-int8:512',
  'ssd-int8:320',
  'ssd-int8:256',
  'ssd:512',
  'tiny-frame:352',
  'tiny:352',
  'tiny:416',
  'tiny:512',
  'tiny:608',
];

interface Measured {
  config: string;
  heapAfterInt8MB: number;
  heapMB: number;
  medianMs: number;
  exact: number;
  photos: number;
  missed: number;
  extra: number;
}

/** One configuration, in this process (called by main in a child process per configuration). */
async function measure(config: string): Promise<Measured> {
  const heap = probeWasmHeap();
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'models', 'dist', 'manifest.json'), 'utf8'));
  await ort.InferenceSession.create(readFileSync(join(REPO_ROOT, 'models', 'dist', manifest.files.int8.path)), {
    executionProviders: ['wasm'],
  });
  const heapAfterInt8MB = heap() / 1e6;
  const [kind, sizeText] = config.split(':') as ['ssd-int8' | 'ssd' | 'tiny' | 'tiny-frame', string];
  const size = Number(sizeText);
  let session: Awaited<ReturnType<typeof ort.InferenceSession.create>>;
  let decode: (out: Record<string, { data: unknown }>) => { boxes: Float32Array; scores: Float32Array };
  let iou: number;
  if (kind === 'ssd' || kind === 'ssd-int8') {
    const weights = loadWeights(undefined, SSD_MANIFEST);
    const options = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' } as const;
    if (kind === 'ssd-int8')
      session = await ort.InferenceSession.create(buildSsd(weights, { ranges: readDetectorCalibration() }, size), options);
    else {
      const split = externaliseWeights(buildSsd(weights, undefined, size), 'd.weights');
      session = await ort.InferenceSession.create(split.graph, { ...options, ...externalWeights('d.weights', split.data) });
    }
    const priors = ssdPriors(size);
    decode = (out) => decodeSsd(out.boxes!.data as Float32Array, out.classes!.data as Float32Array, priors);
    iou = 0.5;
  } else {
    session = await ort.InferenceSession.create(buildTinyDetector(loadWeights(undefined, TINY_MANIFEST), size), {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
    });
    decode = (out) => {
      const grid = out.grid as { data: Float32Array; dims: number[] };
      return decodeTiny(grid.data, TINY_ANCHORS, { rows: grid.dims[2]!, cols: grid.dims[3]! });
    };
    iou = 0.4;
  }
  const files = [
    ...readdirSync(join(PHOTOS, 'single')).map((f) => `single/${f}`),
    ...Object.keys(GROUP_FACE_COUNTS).map((f) => `group/${f}`),
  ];
  const times: number[] = [];
  let exact = 0;
  let missed = 0;
  let extra = 0;
  for (const file of files) {
    const bytes = new Uint8Array(readFileSync(join(PHOTOS, file)));
    const img = orientUpright(decodeImage(bytes, { maxPixels: 50_000_000 }), exifOrientation(bytes));
    const { x, frame } =
      kind === 'tiny-frame' ? detectorFrameInput(img, size) : { x: detectorInput(img, size), frame: { width: size, height: size } };
    const t = performance.now();
    const out = await session.run({ x: new ort.Tensor('float32', x, [1, 3, frame.height, frame.width]) });
    times.push(performance.now() - t);
    const { boxes, scores } = decode(out as never);
    const found = nonMaxSuppression(boxes, scores, { minScore: 0.5, iouThreshold: iou }).length;
    const truth = file.startsWith('group/') ? GROUP_FACE_COUNTS[file.slice(6)]! : 1;
    if (found === truth) exact++;
    missed += Math.max(0, truth - found);
    extra += Math.max(0, found - truth);
  }
  return { config, heapAfterInt8MB, heapMB: heap() / 1e6, medianMs: median(times), exact, photos: files.length, missed, extra };
}

async function main() {
  const only = process.argv.indexOf('--config');
  if (only >= 0) {
    console.log(JSON.stringify(await measure(process.argv[only + 1]!)));
    return;
  }
  if (!existsSync(PHOTOS)) throw new Error(`${PHOTOS} is missing (../shared/faces/photos beside the clone)`);
  const self = fileURLToPath(import.meta.url);
  const rows: Measured[] = CONFIGS.map((config) => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--config', config], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const row = JSON.parse(out.trim().split('\n').pop()!) as Measured;
    console.log(
      `${config}: ${row.exact}/${row.photos} photos with the right face count, ${row.medianMs.toFixed(0)} ms, heap ${row.heapMB.toFixed(1)} MB`,
    );
    return row;
  });
  const base = rows[0]!.medianMs;
  writeResults('detectors', { machine: machine(), rows });
  const table = markdownTable(
    [
      'detector (input)',
      'photos with the right face count',
      'faces missed',
      'extra faces',
      'median ms / photo',
      'vs the full pass',
      'wasm heap after int8 model (MB)',
      '… after detector loaded and run (MB)',
    ],
    rows.map((r) => [
      r.config.startsWith('ssd-int8')
        ? `SSD MobileNetV1 int8 (${r.config.slice(9)})${r.config === 'ssd-int8:512' ? ' **served: full pass**' : r.config === 'ssd-int8:320' ? ' **served: quick pass**' : ''}`
        : r.config.startsWith('ssd')
          ? `SSD MobileNetV1 fp32 (${r.config.slice(4)})`
          : r.config.startsWith('tiny-frame')
            ? `Tiny Face Detector (${r.config.slice(11)}, photo's aspect ratio) **served: first pass**`
            : `Tiny Face Detector (${r.config.slice(5)}, padded square)`,
      `${r.exact} / ${r.photos}`,
      r.missed,
      r.extra,
      r.medianMs.toFixed(0),
      `${(r.medianMs / base).toFixed(2)}×`,
      r.heapAfterInt8MB.toFixed(1),
      r.heapMB.toFixed(1),
    ]),
  );
  spliceBenchmarks(
    'detectors',
    `${table}\n\n_The ${rows[0]!.photos} development photos (25 single, 7 group; truth: one face per single photo, the group counts by eye), score ≥ 0.5, face-api's NMS. onnxruntime-web 1 thread under Node, each detector in its own process after the int8 model; the tiny detector on face-api's padded square or, as served, on a frame of the photo's aspect ratio (longer side the size, sides multiples of 32). Reproduce: \`npm run bench:detectors\` (${new Date().toISOString().slice(0, 10)})._`,
  );
}

main().catch((e: unknown) => {
  console.error(`bench:detectors: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
