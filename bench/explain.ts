/**
 * @module bench/explain
 * `npm run bench:explain`: FGGB explanations end to end.
 *  - onnxruntime-web (wasm, 1 thread) under Node: explain a new pair (both bases computed);
 *  - under `wrangler dev`: explain new pairs, then pairs whose bases are both cached (new
 *    combinations, so maps are still rendered and stored), with the server's own split
 *    (combine = streaming both bases from the local R2 and summing) and the basis size;
 *    the workerd process's peak RSS (VmHWM) before and after;
 *  - baseline in the same run: the TFJS-wasm FGGB of the test oracle (face-api's net,
 *    one tf.grad per channel per image).
 * Writes bench/results/explain.json and the README table.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIST_DIR } from '../models/build.js';
import { explainPair } from '../src/engine/explain.js';
import { gradientRunner } from '../src/engine/gradient.js';
import type { OrtModule } from '../src/engine/embed.js';
import type { ModelManifest } from '../src/xfv/manifest.js';
import { basisByteLength } from '../src/store/basis.js';
import { FACES_DIR, loadModelInput, loadRgb, rgbFloats } from '../eval/lib/faces.js';
import { ortWeb, webSession } from '../eval/lib/ort.js';
import { tfjsBasis, tfjsFggb, tfjsImage } from '../test/oracle/fggb-tfjs.js';
import { fmt, machine, markdownTable, median, quantile, ratio, spliceReadme, writeResults } from './lib/report.js';
import { startWranglerDev } from './lib/wrangler-dev.js';

const face = (p: string) => join(FACES_DIR, 'bbt', p);
const PEOPLE = ['amy', 'bernadette', 'howard', 'leonard', 'penny', 'raj', 'sheldon', 'stuart'];

function vmHwmMB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main() {
  const manifest = JSON.parse(readFileSync(join(DIST_DIR, 'manifest.json'), 'utf8')) as ModelManifest;
  const θ = manifest.gradient!.thresholdFp32;

  // 1. onnxruntime-web under Node, new pair.
  const session = await webSession(readFileSync(join(DIST_DIR, manifest.files.grad!.path)));
  const runner = gradientRunner(ortWeb as unknown as OrtModule, session, { channels: 3, size: 150, n: 128, chunk: 16 });
  const options = { method: 'fggb' as const, centre: false, threshold: θ, mean: new Float32Array(128), modelId: manifest.id, size: 150, channels: 3, dtype: 'f16' as const, store: false };
  const nodeNew: number[] = [];
  for (const [a, b] of [['amy/amy1.png', 'raj/raj2.png'], ['penny/penny1.png', 'howard/howard1.png']] as const) {
    const t = performance.now();
    await explainPair(runner, [{ x: loadModelInput(face(a)), basisKey: a }, { x: loadModelInput(face(b)), basisKey: b }], options);
    nodeNew.push(performance.now() - t);
  }
  console.log(`node ort-web new pair: ${nodeNew.map(fmt).join(', ')} ms`);

  // 2. TFJS-wasm FGGB (the oracle), one pair.
  const t0 = performance.now();
  const [A, B] = await Promise.all(['amy/amy1.png', 'raj/raj2.png'].map((p) => tfjsImage(rgbFloats(loadRgb(face(p))))));
  tfjsFggb(await tfjsBasis(A!), A!.embedding, B!.embedding, θ);
  tfjsFggb(await tfjsBasis(B!), B!.embedding, A!.embedding, θ);
  const tfjsMs = performance.now() - t0;
  console.log(`TFJS-wasm FGGB pair: ${fmt(tfjsMs)} ms`);

  // 3. wrangler dev.
  const server = await startWranglerDev(8798);
  try {
    const pid = server.workerdPids().at(-1);
    const rssStart = pid ? vmHwmMB(pid) : NaN;
    const post = async (a: string, b: string) => {
      const fd = new FormData();
      fd.append('a', new Blob([readFileSync(face(a))]), 'a.png');
      fd.append('b', new Blob([readFileSync(face(b))]), 'b.png');
      const t = performance.now();
      const res = await fetch(`${server.url}/v1/explain`, { method: 'POST', body: fd });
      const body = (await res.json()) as { explanation: { basis: { a: string; b: string } }; timing: Record<string, number> };
      if (res.status !== 200) throw new Error(`explain answered ${res.status}: ${JSON.stringify(body)}`);
      return { ms: performance.now() - t, basis: body.explanation.basis, timing: body.timing };
    };
    // New pairs: images 1 and 2 of four people, never seen by this server.
    const fresh: Awaited<ReturnType<typeof post>>[] = [];
    for (let i = 0; i < 4; i += 2) fresh.push(await post(`${PEOPLE[i]}/${PEOPLE[i]}1.png`, `${PEOPLE[i + 1]}/${PEOPLE[i + 1]}1.png`));
    console.log(`wrangler dev new pair: ${fresh.map((f) => fmt(f.ms)).join(', ')} ms`);
    // Cached pairs: new combinations of the four now-cached images.
    const cachedImages = [0, 1, 2, 3].map((i) => `${PEOPLE[i]}/${PEOPLE[i]}1.png`);
    const cached: Awaited<ReturnType<typeof post>>[] = [];
    for (let rep = 0; rep < 3; rep++)
      for (let i = 0; i < 4; i++)
        for (let j = 0; j < 4; j++) if (i !== j) cached.push(await post(cachedImages[i]!, cachedImages[j]!));
    if (cached.some((c) => c.basis.a !== 'hit' || c.basis.b !== 'hit')) throw new Error('a cached-pair request recomputed a basis');
    const lat = cached.map((c) => c.ms);
    const part = (k: string) => median(cached.map((c) => c.timing[k] ?? 0));
    const rssEnd = pid ? vmHwmMB(pid) : NaN;
    const heap = ((await (await fetch(`${server.url}/v1/models`)).json()) as { runtime: { wasmHeapBytes: number | null } }).runtime.wasmHeapBytes;
    console.log(`wrangler dev cached pair p50 ${fmt(median(lat))} ms (combine ${fmt(part('combineMs'))}, render ${fmt(part('renderMs'))}, store ${fmt(part('storeMs'))})`);

    const basisBytes = basisByteLength({ dtype: 'f16', centred: false, n: 128, height: 150, width: 150, modelId: manifest.id });
    const result = {
      machine: machine(),
      nodeWebNewPairMs: nodeNew,
      tfjsPairMs: tfjsMs,
      wranglerDev: {
        newPairMs: fresh.map((f) => f.ms),
        newPairTiming: fresh.map((f) => f.timing),
        cachedPair: { runs: lat.length, p50: median(lat), p95: quantile(lat, 0.95), decodeMs: part('decodeMs'), inferenceMs: part('inferenceMs'), combineMs: part('combineMs'), renderMs: part('renderMs'), storeMs: part('storeMs') },
        workerdPeakRssMB: { afterStart: rssStart, afterRun: rssEnd },
        ortWasmHeapMB: heap === null ? null : heap / 2 ** 20,
      },
      basisBytes,
      basisDtype: 'f16',
    };
    writeResults('explain', result);
    const w = result.wranglerDev;
    const table = markdownTable(
      ['measure', 'value'],
      [
        ['TFJS-wasm FGGB, one new pair (baseline, same run)', `${fmt(tfjsMs)} ms`],
        ['onnxruntime-web under Node, new pair (2 bases + maps)', `${nodeNew.map(fmt).join(' / ')} ms (${ratio(tfjsMs / median(nodeNew))} faster)`],
        ['wrangler dev, new pair (2 bases computed, stored)', `${w.newPairMs.map(fmt).join(' / ')} ms (${ratio(tfjsMs / median(w.newPairMs))} faster)`],
        [`wrangler dev, cached pair p50 / p95 (${lat.length} requests)`, `${fmt(w.cachedPair.p50)} / ${fmt(w.cachedPair.p95)} ms`],
        ['… server split: decode / inference / combine (R2 stream + sum) / render / store', `${fmt(w.cachedPair.decodeMs)} / ${fmt(w.cachedPair.inferenceMs)} / ${fmt(w.cachedPair.combineMs)} / ${fmt(w.cachedPair.renderMs)} / ${fmt(w.cachedPair.storeMs)} ms`],
        ['basis per image (float16, header + embedding + 128×150×150)', `${(basisBytes / 1e6).toFixed(2)} MB`],
        ['onnxruntime wasm heap of the isolate after the run (`/v1/models` runtime)', w.ortWasmHeapMB === null ? 'n/a' : `${w.ortWasmHeapMB.toFixed(0)} MB`],
        ['workerd peak RSS (VmHWM) after start → after the run', `${w.workerdPeakRssMB.afterStart.toFixed(0)} → ${w.workerdPeakRssMB.afterRun.toFixed(0)} MB`],
      ],
    );
    spliceReadme('explain', `${table}\n\n_Reproduce: \`npm run bench:explain\` (${result.machine.date.slice(0, 10)}). workerd's RSS covers the whole runtime process (V8, the 14 MB ORT wasm compiled, both models, miniflare's storage layer), so it bounds the isolate's use from above._`);
    console.log(`\n${table}`);
  } finally {
    await server.stop();
  }
}

await main();
