/**
 * @module bench/grad
 * `npm run bench:grad`: the precompiled gradient graph of the face net, in
 * onnxruntime-web (wasm, 1 thread) and onnxruntime-node (1 thread), in one run:
 *  - forward at batch 1 and batch K, and the VJP graph with K cotangent rows, K = 1…128
 *    (ratio VJP / batch-K forward);
 *  - the full N-row basis of one image per chunk size, with the child process's peak RSS;
 *  - baseline: the TFJS-wasm per-image basis as a JS developer would write it (the image
 *    batched K times, the k-th channel of the k-th copy, one tf.grad per chunk);
 *  - where the time goes: onnxruntime-node's profiler, time per op type for one chunk.
 * Writes bench/results/grad.json and its table in docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST_DIR } from '../models/build.js';
import type { ModelManifest } from '../src/xfv/manifest.js';
import { REPO_ROOT } from '../eval/lib/faces.js';
import { compileGradient } from '../models/compiler/compile.js';
import { gradientRunner, gradientShape } from '../src/engine/gradient.js';
import type { OrtModule } from '../src/engine/embed.js';
import { distGradient, nodeSession, ortNode, ortWeb, webSession } from '../eval/lib/ort.js';
import { loadFaceApiOracle } from '../test/oracle/faceapi.js';
import { fmt, machine, markdownTable, median, ratio, spliceBenchmarks, timeRuns, writeResults } from './lib/report.js';

const S = 150;
const N = 128;
const KS = [1, 16, 32, 64, 128];
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
type Runtime = 'web' | 'node';

const manifest = JSON.parse(readFileSync(join(DIST_DIR, 'manifest.json'), 'utf8')) as ModelManifest;
const file = (w: 'fp32') => readFileSync(join(DIST_DIR, manifest.files[w].path));
/** The served gradient graph with its external weights, as the Worker loads it. */
const gradient = () => distGradient(DIST_DIR);
const image = (batch = 1) => Float32Array.from({ length: batch * 3 * S * S }, (_, i) => Math.sin((i % (3 * S * S)) * 0.37) * 0.4);

function feedsFor(rt: Runtime, k: number, k0 = 0) {
  const T = (rt === 'web' ? ortWeb.Tensor : ortNode.Tensor) as unknown as new (t: 'float32', d: Float32Array, dims: number[]) => unknown;
  const cot = new Float32Array(k * N);
  for (let i = 0; i < k; i++) cot[i * N + ((k0 + i) % N)] = 1;
  return {
    x: new T('float32', image(), [1, 3, S, S]),
    cot: new T('float32', cot, [k, N]),
    mean: new T('float32', new Float32Array(N), [1, N]),
  };
}

const session = (rt: Runtime, bytes: Uint8Array, options = {}) => (rt === 'web' ? webSession(bytes, options) : nodeSession(bytes, options));

/** Full basis of one image with chunk size k; run in a child so its peak RSS is its own. */
async function fullBasis(rt: Runtime, k: number) {
  const s = await session(rt, gradient().graph, gradient().options);
  const run = async () => {
    for (let k0 = 0; k0 < N; k0 += k)
      await (s.run as (f: unknown, o: string[]) => Promise<unknown>)(feedsFor(rt, Math.min(k, N - k0), k0), ['basis']);
  };
  await run();
  const t = performance.now();
  await run();
  return { ms: performance.now() - t, maxRssMB: process.resourceUsage().maxRSS / 1024 };
}

async function child(rt: Runtime, k: number) {
  console.log(JSON.stringify(await fullBasis(rt, k)));
}

function tfjsBasisMs(k: number): Promise<number> {
  return (async () => {
    const { tf, net, faceapi } = await loadFaceApiOracle();
    const rgb = tf.tensor3d(
      Float32Array.from({ length: S * S * 3 }, (_, i) => (i * 7) % 256),
      [S, S, 3],
    );
    const t0 = performance.now();
    for (let k0 = 0; k0 < N; k0 += k) {
      const rows = Math.min(k, N - k0);
      const batch = tf.stack(Array.from({ length: rows }, () => rgb));
      const onehot = tf
        .oneHot(
          tf.tensor1d(
            Array.from({ length: rows }, (_, i) => k0 + i),
            'int32',
          ),
          N,
        )
        .toFloat();
      const f = (b: unknown) => {
        const emb = net.forwardInput(new faceapi.NetInput(tf.unstack(b), true));
        const unit = tf.div(emb, tf.add(tf.norm(emb, 'euclidean', 1, true), 1e-8));
        return tf.sum(tf.mul(unit, onehot));
      };
      const g = tf.grad(f)(batch);
      const m = tf.mean(tf.abs(g), 3);
      const basis = tf.div(m, tf.add(tf.norm(m, 'euclidean', [1, 2], true), 1e-8));
      await basis.data();
      [batch, onehot, g, m, basis].forEach((t) => t.dispose());
    }
    const ms = performance.now() - t0;
    rgb.dispose();
    return ms;
  })();
}

async function profileNode(k: number): Promise<{ op: string; ms: number; share: number }[]> {
  const prefix = join(tmpdir(), `xfv-grad-profile-${process.pid}`);
  const s = await nodeSession(gradient().graph, { ...gradient().options, enableProfiling: true, profileFilePrefix: prefix });
  const feeds = feedsFor('node', k) as unknown as Record<string, ortNode.Tensor>;
  for (let i = 0; i < 3; i++) await s.run(feeds, ['basis']);
  s.endProfiling();
  await s.release();
  const path = readdirSync(tmpdir())
    .map((f) => join(tmpdir(), f))
    .find((f) => f.startsWith(prefix))!;
  const events = JSON.parse(readFileSync(path, 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
  rmSync(path);
  const byOp = new Map<string, number>();
  for (const e of events)
    if (e.cat === 'Node' && e.name.endsWith('_kernel_time'))
      byOp.set(e.args?.op_name ?? '?', (byOp.get(e.args?.op_name ?? '?') ?? 0) + e.dur / 1000 / 3);
  const total = [...byOp.values()].reduce((a, b) => a + b, 0);
  return [...byOp.entries()].sort((a, b) => b[1] - a[1]).map(([op, ms]) => ({ op, ms, share: ms / total }));
}

async function main() {
  const [mode, rt, k] = process.argv.slice(2);
  if (mode === '--child') return child(rt as Runtime, Number(k));

  const rows: { runtime: Runtime; k: number; forwardBatchKMs: number; vjpMs: number; ratio: number }[] = [];
  const forward1: Record<Runtime, number> = { web: 0, node: 0 };
  for (const rt of ['web', 'node'] as const) {
    const fwd = await session(rt, file('fp32'));
    const grad = await session(rt, gradient().graph, gradient().options);
    const T = (rt === 'web' ? ortWeb.Tensor : ortNode.Tensor) as unknown as new (t: 'float32', d: Float32Array, dims: number[]) => unknown;
    const runFwd = (b: number) => (fwd.run as (f: unknown) => Promise<unknown>)({ x: new T('float32', image(b), [b, 3, S, S]) });
    forward1[rt] = median(await timeRuns(() => runFwd(1), 20));
    for (const k of KS) {
      const f = median(await timeRuns(() => runFwd(k), RUNS, 1));
      const v = median(
        await timeRuns(() => (grad.run as (f: unknown, o: string[]) => Promise<unknown>)(feedsFor(rt, k), ['basis']), RUNS, 1),
      );
      rows.push({ runtime: rt, k, forwardBatchKMs: f, vjpMs: v, ratio: v / f });
      console.log(`${rt} K=${k}: forward ${fmt(f)} ms, VJP ${fmt(v)} ms (${(v / f).toFixed(2)}×)`);
    }
  }

  const bases: { runtime: Runtime; k: number; ms: number; maxRssMB: number }[] = [];
  for (const rt of ['web', 'node'] as const)
    for (const k of [16, 32, 64, 128]) {
      const out = execFileSync(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['bench/grad.ts', '--child', rt, String(k)], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      });
      const r = JSON.parse(out.trim().split('\n').pop()!) as { ms: number; maxRssMB: number };
      bases.push({ runtime: rt, k, ...r });
      console.log(`${rt} full basis K=${k}: ${fmt(r.ms)} ms, peak RSS ${r.maxRssMB.toFixed(0)} MB`);
    }

  // Backward form of stride-1 convs: flipped-weight Conv (compiler default) vs ConvTranspose
  // over shared weights (the face build), full basis in onnxruntime-web, alternated twice.
  const forms: { form: string; graphMB: number; ms: number[] }[] = [
    { form: 'Conv, flipped copies (default)', graphMB: 0, ms: [] },
    { form: 'ConvTranspose, shared weights (face build)', graphMB: 0, ms: [] },
  ];
  for (let rep = 0; rep < 2; rep++)
    for (const [i, shareWeights] of [false, true].entries()) {
      const g = await compileGradient(file('fp32'), { name: manifest.id, shareWeights });
      forms[i]!.graphMB = g.length / 1e6;
      const s = await webSession(g);
      const r = gradientRunner(ortWeb as unknown as OrtModule, s, gradientShape(manifest, 16));
      await r.basis(image(), new Float32Array(N), 'f32', () => undefined);
      const t = performance.now();
      await r.basis(image(), new Float32Array(N), 'f32', () => undefined);
      forms[i]!.ms.push(performance.now() - t);
      await s.release();
    }
  forms.forEach((f) => console.log(`${f.form}: ${f.graphMB.toFixed(1)} MB, full basis ${f.ms.map(fmt).join(' / ')} ms`));

  const tfjs = [];
  for (const k of [16, 32]) {
    const ms = await tfjsBasisMs(k);
    tfjs.push({ k, ms });
    console.log(`TFJS-wasm full basis K=${k}: ${fmt(ms)} ms`);
  }
  const tfjsBest = Math.min(...tfjs.map((t) => t.ms));
  const profile = await profileNode(32);

  const best = (rt: Runtime) => bases.filter((b) => b.runtime === rt).sort((a, b) => a.ms - b.ms)[0]!;
  writeResults('grad', {
    machine: machine(),
    runs: RUNS,
    forwardBatch1Ms: forward1,
    vjp: rows,
    fullBasis: bases,
    tfjsBasis: tfjs,
    profileNodeK32: profile,
    backwardForms: forms,
  });
  const t1 = markdownTable(
    ['runtime', 'K', 'forward batch K (ms)', 'VJP, K rows (ms)', 'VJP / forward'],
    rows.map((r) => [
      r.runtime === 'web' ? 'onnxruntime-web wasm' : 'onnxruntime-node',
      r.k,
      fmt(r.forwardBatchKMs),
      fmt(r.vjpMs),
      ratio(r.ratio),
    ]),
  );
  const t2 = markdownTable(
    ['full 128-row basis, one image', 'chunk K', 'time (ms)', 'peak RSS (MB)', 'speed-up vs TFJS-wasm', '÷ batch-1 forward'],
    [
      ...bases.map((b) => [
        b.runtime === 'web' ? 'onnxruntime-web wasm' : 'onnxruntime-node',
        b.k,
        fmt(b.ms),
        b.maxRssMB.toFixed(0),
        ratio(tfjsBest / b.ms),
        (b.ms / forward1[b.runtime]).toFixed(0),
      ]),
      ...tfjs.map((t) => [
        'TFJS-wasm baseline (batched tf.grad)',
        t.k,
        fmt(t.ms),
        '',
        `1.00×${t.ms === tfjsBest ? ' (best)' : ''}`,
        (t.ms / forward1.web).toFixed(0),
      ]),
    ],
  );
  const t3 = markdownTable(
    ['op (onnxruntime-node, K = 32)', 'ms', 'share'],
    profile.slice(0, 8).map((p) => [p.op, fmt(p.ms), `${(p.share * 100).toFixed(1)} %`]),
  );
  const t4 = markdownTable(
    ['backward form of stride-1 convs', 'graph (MB)', 'full basis, web K = 16 (ms, two runs)'],
    forms.map((f) => [f.form, f.graphMB.toFixed(1), f.ms.map(fmt).join(' / ')]),
  );
  spliceBenchmarks(
    'grad',
    `${t1}\n\n${t2}\n\n${t4}\n\nWhere the time goes (one K = 32 chunk, onnxruntime's profiler):\n\n${t3}\n\n_Best chunk: web K = ${best('web').k}, node K = ${best('node').k}. Batch-1 forward: web ${fmt(forward1.web)} ms, node ${fmt(forward1.node)} ms. ${RUNS} runs per VJP median; one full basis per configuration after a warm-up, each in its own process for its peak RSS. Reproduce: \`npm run bench:grad\`._`,
  );
  console.log(`\n${t1}\n\n${t2}\n\n${t3}`);
}

await main();
