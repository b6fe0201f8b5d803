/**
 * @module bench/embed
 * `npm run bench:embed`: forward latency per image of the face net — fp32 and int8 in
 * onnxruntime-web (wasm, 1 thread) and onnxruntime-node (1 thread), and the TFJS-wasm
 * reference (face-api's own net) — at batch 1 and 8, medians of ≥ 50 warm runs, all in
 * one process so the ratios share the machine's noise. Writes bench/results/embed.json
 * and its table in docs/benchmarks.md.
 */
import { DIST_DIR } from '../models/build.js';
import { loadFaceApiOracle } from '../test/oracle/faceapi.js';
import { nodeSession, ortNode, ortWeb, webSession } from '../eval/lib/ort.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelManifest } from '../src/xfv/manifest.js';
import { fmt, machine, markdownTable, median, quantile, ratio, spliceBenchmarks, timeRuns, writeResults } from './lib/report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 50);
const SIZE = 150;

function input(batch: number): Float32Array {
  const x = new Float32Array(batch * 3 * SIZE * SIZE);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37) * 0.4;
  return x;
}

async function main() {
  const manifest = JSON.parse(readFileSync(join(DIST_DIR, 'manifest.json'), 'utf8')) as ModelManifest;
  const model = (w: 'fp32' | 'int8') => readFileSync(join(DIST_DIR, manifest.files[w].path));
  const rows: { runtime: string; model: string; batch: number; medianMsPerImage: number; p95MsPerImage: number }[] = [];
  const record = (runtime: string, name: string, batch: number, times: number[]) => {
    rows.push({ runtime, model: name, batch, medianMsPerImage: median(times) / batch, p95MsPerImage: quantile(times, 0.95) / batch });
    console.log(`${runtime.padEnd(22)} ${name.padEnd(5)} batch ${batch}: ${fmt(median(times) / batch)} ms/image`);
  };

  const oracle = await loadFaceApiOracle();
  for (const batch of [1, 8]) {
    const rgbs = Array.from({ length: batch }, (_, b) => Float32Array.from({ length: SIZE * SIZE * 3 }, (_, i) => (i * 7 + b * 31) % 256));
    record('TFJS wasm (face-api)', 'fp32', batch, await timeRuns(() => oracle.descriptors(rgbs), RUNS));
  }
  for (const w of ['fp32', 'int8'] as const) {
    const web = await webSession(model(w));
    const node = await nodeSession(model(w));
    for (const batch of [1, 8]) {
      const x = input(batch);
      const tWeb = new ortWeb.Tensor('float32', x, [batch, 3, SIZE, SIZE]);
      record('onnxruntime-web wasm', w, batch, await timeRuns(() => web.run({ x: tWeb }), RUNS));
      const tNode = new ortNode.Tensor('float32', x, [batch, 3, SIZE, SIZE]);
      record('onnxruntime-node', w, batch, await timeRuns(() => node.run({ x: tNode }), RUNS));
    }
  }

  const get = (runtime: string, m: string, batch: number) =>
    rows.find((r) => r.runtime === runtime && r.model === m && r.batch === batch)!.medianMsPerImage;
  const table = markdownTable(
    ['runtime (1 thread)', 'model', 'batch', 'median ms/image', 'p95 ms/image', 'vs TFJS-wasm', 'int8/fp32'],
    rows.map((r) => [
      r.runtime,
      r.model,
      r.batch,
      fmt(r.medianMsPerImage),
      fmt(r.p95MsPerImage),
      ratio(get('TFJS wasm (face-api)', 'fp32', r.batch) / r.medianMsPerImage),
      r.model === 'int8' ? ratio(r.medianMsPerImage / get(r.runtime, 'fp32', r.batch)) : '',
    ]),
  );
  const path = writeResults('embed', { machine: machine(), runs: RUNS, rows });
  const note = `\n\n_${RUNS} warm runs each, one process, ${machine().date.slice(0, 10)}, ${machine().platform}, Node ${process.version}. "vs TFJS-wasm" is the speed-up (TFJS time / this time); "int8/fp32" the time ratio (< 1 = int8 faster). Reproduce: \`npm run bench:embed\`._`;
  spliceBenchmarks('embed', table + note);
  console.log(`\n${table}\nwrote ${path}`);
}

await main();
