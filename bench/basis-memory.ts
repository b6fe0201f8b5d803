/**
 * @module bench/basis-memory
 * `npm run bench:basis-memory`: how the gradient graph's session options and the basis
 * chunk K set the onnxruntime-web heap (the bulk of the Worker isolate's memory) and the
 * time of a full 128-row basis. Each configuration runs in its own Node process (a wasm
 * heap never shrinks), loading the int8 model first as the Worker does. Baseline in the
 * same run: the previous build (gradient graph as one file, weight prepacking on, memory
 * pattern on, K = 16).
 * Writes bench/results/basis-memory.json and its table in docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIST_DIR } from '../models/build.js';
import { compileGradient } from '../models/compiler/compile.js';
import { BASIS_CHUNK, gradientRunner, gradientShape } from '../src/engine/gradient.js';
import type { OrtModule } from '../src/engine/embed.js';
import type { ModelManifest } from '../src/xfv/manifest.js';
import { REPO_ROOT, loadModelInput, FACES_DIR } from '../eval/lib/faces.js';
import { distGradient, ortWeb, webSession } from '../eval/lib/ort.js';
import { fmt, machine, markdownTable, median, ratio, spliceBenchmarks, writeResults } from './lib/report.js';
import { probeWasmHeap } from './lib/wasm-heap.js';

interface Config {
  label: string;
  external: boolean;
  prepack: boolean;
  /** onnxruntime's memory pattern (one planned block per input shape, kept by the session). */
  memPattern: boolean;
  k: number;
}
const MB = 2 ** 20;
const RUNS = 3;

async function child(config: Config) {
  const heap = probeWasmHeap();
  const manifest = JSON.parse(readFileSync(join(DIST_DIR, 'manifest.json'), 'utf8')) as ModelManifest;
  const pattern = { enableMemPattern: config.memPattern };
  const int8 = await webSession(readFileSync(join(DIST_DIR, manifest.files.int8.path)), pattern);
  const x = loadModelInput(join(FACES_DIR, 'bbt', 'amy', 'amy1.png'));
  await int8.run({ x: new ortWeb.Tensor('float32', x, [1, 3, 150, 150]) });
  const afterInt8 = heap();
  const split = distGradient(DIST_DIR);
  const prepack = config.prepack ? { extra: {} } : {};
  const session = config.external
    ? await webSession(split.graph, { ...split.options, ...prepack, ...pattern })
    : await webSession(
        await compileGradient(readFileSync(join(DIST_DIR, manifest.files.fp32.path)), { name: manifest.id, shareWeights: true }),
        { ...(config.prepack ? {} : { extra: split.options.extra }), ...pattern },
      );
  const afterLoad = heap();
  const runner = gradientRunner(ortWeb as unknown as OrtModule, session, gradientShape(manifest, config.k));
  const ms: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const t = performance.now();
    await runner.basis(x, new Float32Array(128), 'f32', () => undefined);
    if (i > 0) ms.push(performance.now() - t);
  }
  console.log(JSON.stringify({ afterInt8, afterLoad, afterBasis: heap(), basisMs: median(ms) }));
}

async function main() {
  const configs: Config[] = [
    { label: 'one-file graph, prepacking on (previous build)', external: false, prepack: true, memPattern: true, k: 16 },
    { label: 'external weights, prepacking on', external: true, prepack: true, memPattern: true, k: 16 },
    ...[4, 8, 12, 16, 32].map((k) => ({ label: 'external weights, prepacking off', external: true, prepack: false, memPattern: true, k })),
    ...[8, 12, 16].map((k) => ({
      label: 'external weights, prepacking off, memory pattern off',
      external: true,
      prepack: false,
      memPattern: false,
      k,
    })),
  ];
  const rows: (Config & { afterInt8: number; afterLoad: number; afterBasis: number; basisMs: number })[] = [];
  for (const config of configs) {
    const out = execFileSync(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['bench/basis-memory.ts', '--child', JSON.stringify(config)], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    const r = JSON.parse(out.trim().split('\n').pop()!) as (typeof rows)[number];
    rows.push({ ...config, ...r });
    console.log(
      `${config.label}, K=${config.k}: heap ${(r.afterLoad / MB).toFixed(1)} → ${(r.afterBasis / MB).toFixed(1)} MB, basis ${fmt(r.basisMs)} ms`,
    );
  }
  const base = rows[0]!;
  writeResults('basis-memory', { machine: machine(), runs: RUNS, served: { k: BASIS_CHUNK }, rows });
  const table = markdownTable(
    [
      'gradient session',
      'K',
      'heap after int8 (MB)',
      'after loading the graph (MB)',
      'after a full basis (MB)',
      'full basis (ms)',
      'time vs previous',
    ],
    rows.map((r) => [
      r.label + (r.external && !r.prepack && !r.memPattern && r.k === BASIS_CHUNK ? ' **(served)**' : ''),
      r.k,
      (r.afterInt8 / MB).toFixed(1),
      (r.afterLoad / MB).toFixed(1),
      (r.afterBasis / MB).toFixed(1),
      fmt(r.basisMs),
      ratio(r.basisMs / base.basisMs),
    ]),
  );
  spliceBenchmarks(
    'basis-memory',
    `${table}\n\n_onnxruntime-web 1 thread under Node; heap = the wasm Memory's size (it never shrinks); median of ${RUNS} full bases after a warm-up, each configuration in its own process. Reproduce: \`npm run bench:basis-memory\` (${machine().date.slice(0, 10)})._`,
  );
  console.log(`\n${table}`);
}

const i = process.argv.indexOf('--child');
if (i >= 0) await child(JSON.parse(process.argv[i + 1]!) as Config);
else await main();
