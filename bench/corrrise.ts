/**
 * @module bench/corrrise
 * `npm run bench:corrrise`: what a new pair costs with CorrRISE under `wrangler dev`, and
 * what sharding would make of it after a deploy. In one run: the crop verify p50 (the
 * baseline), new pairs (each image's occlusion embeddings built by its builder objects,
 * OCCLUSION_SHARDS of them) and the same pairs again (cached), all by the API; and, in Node
 * with onnxruntime-web (the Worker's wasm, one thread), the cost of one row (one masked copy
 * embedded). Locally every object runs on one thread, so the wall time for P shards is
 * projected: the pair's time outside the builds + one shard's rows (⌈200/16P⌉ batches of
 * 16) at the Worker's measured cost per row, its builds' overhead (RPC, R2 parts, joining)
 * spread over the rows. Writes
 * bench/results/corrrise.json and the table in docs/benchmarks.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CORRRISE_BATCH, occlusionEmbeddings } from '../src/engine/corrrise.js';
import { embedBatch, type OrtModule, type OrtSession } from '../src/engine/embed.js';
import { CORRRISE_DEFAULTS, corrRiseMasks } from '../src/xfv/corrrise.js';
import { fillValues } from '../src/xfv/faithfulness.js';
import type { ModelManifest } from '../src/xfv/manifest.js';
import { FACES_DIR, loadModelInput, REPO_ROOT } from '../eval/lib/faces.js';
import { ortWeb, webSession } from '../eval/lib/ort.js';
import { fmt, machine, markdownTable, median, ratio, spliceBenchmarks, writeResults } from './lib/report.js';
import { startWranglerDev } from './lib/wrangler-dev.js';

const SHARDS = [1, 2, 4, 8];
const SERVED_SHARDS = 4;
const face = (p: string) => join(FACES_DIR, 'bbt', p);
// New pairs: six images no other request of this run sends.
const NEW_PAIRS: [string, string][] = [
  ['leonard/leonard1.png', 'penny/penny2.png'],
  ['sheldon/sheldon1.png', 'howard/howard2.png'],
  ['raj/raj1.png', 'bernadette/bernadette1.png'],
];
const VERIFY_PAIR: [string, string] = ['amy/amy1.png', 'amy/amy2.png'];

/** Node, onnxruntime-web: ms per row of one image's occlusion embeddings (median of 3). */
async function rowMs(): Promise<number> {
  const dist = join(REPO_ROOT, 'models', 'dist');
  const manifest = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8')) as ModelManifest;
  const session = (await webSession(readFileSync(join(dist, manifest.files.int8.path)))) as unknown as OrtSession;
  const size = manifest.input.size;
  const embed = (xs: Float32Array[]) => embedBatch(ortWeb as unknown as OrtModule, session, xs, size);
  const x = loadModelInput(face('stuart/stuart1.png'));
  const masks = corrRiseMasks(size, CORRRISE_DEFAULTS);
  const request = { size, fill: fillValues('gray', manifest.input.mean, manifest.input.scale) };
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await occlusionEmbeddings(embed, x, masks, request);
    runs.push((performance.now() - t) / masks.length);
  }
  return median(runs);
}

async function main() {
  const perRow = await rowMs();
  console.log(`node wasm: ${fmt(perRow)} ms per row (one masked copy embedded, batches of ${CORRRISE_BATCH})`);
  const server = await startWranglerDev(8796);
  try {
    const post = async (path: string, [a, b]: [string, string], fields: Record<string, string> = {}) => {
      const fd = new FormData();
      fd.append('a', new Blob([readFileSync(face(a))]), a);
      fd.append('b', new Blob([readFileSync(face(b))]), b);
      fd.append('input', 'aligned-crop');
      for (const [k, v] of Object.entries(fields)) fd.append(k, v);
      const t = performance.now();
      const res = await fetch(`${server.url}${path}`, {
        method: 'POST',
        body: fd,
        headers: server.auth,
        signal: AbortSignal.timeout(180_000),
      });
      const body = (await res.json()) as { timing: Record<string, number>; explanation?: { basis: { a: string; b: string } } };
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(body)}`);
      return { ms: performance.now() - t, body };
    };
    // The baseline: crop verify, warm (the first calls load the model).
    for (let i = 0; i < 3; i++) await post('/v1/verify', VERIFY_PAIR);
    const verify: number[] = [];
    for (let i = 0; i < 20; i++) verify.push((await post('/v1/verify', VERIFY_PAIR)).ms);
    const corr = { method: 'corrrise', maps: 'a.similarity' };
    const fresh: { ms: number; basisMs: number }[] = [];
    for (const pair of NEW_PAIRS) {
      const r = await post('/v1/explain', pair, corr);
      if (r.body.explanation?.basis.a !== 'miss' || r.body.explanation.basis.b !== 'miss') throw new Error(`${pair} was not new`);
      fresh.push({ ms: r.ms, basisMs: r.body.timing.basisMs! });
    }
    const cached: number[] = [];
    for (let i = 0; i < 3; i++)
      for (const pair of NEW_PAIRS) {
        const r = await post('/v1/explain', pair, corr);
        if (r.body.explanation?.basis.a !== 'hit') throw new Error(`${pair} was not cached`);
        cached.push(r.ms);
      }
    const verifyP50 = median(verify);
    const newP50 = median(fresh.map((f) => f.ms));
    const basisP50 = median(fresh.map((f) => f.basisMs));
    const rows = CORRRISE_DEFAULTS.masks;
    // Both images' builds ran one after another on this thread: the Worker's own cost per
    // row, the builds' overhead included (Node's row cost is shown beside as a check).
    const workerRowMs = basisP50 / (2 * rows);
    const outside = newP50 - basisP50;
    const projected = SHARDS.map((p) => {
      const shardRows = Math.min(rows, Math.ceil(rows / CORRRISE_BATCH / p) * CORRRISE_BATCH);
      return { shards: p, shardRows, shardMs: shardRows * workerRowMs, wallMs: outside + shardRows * workerRowMs };
    });
    const result = {
      machine: machine(),
      rows,
      servedShards: SERVED_SHARDS,
      rowMsNodeWasm: perRow,
      verifyP50,
      newPair: { runs: fresh, p50: newP50, basisP50, outsideBuildsMs: outside, workerRowMs },
      cachedPairP50: median(cached),
      projected,
    };
    const path = writeResults('corrrise', result);
    const table = markdownTable(
      ['measure', 'ms', 'against crop verify p50'],
      [
        ['crop verify p50 (baseline, 20 runs)', fmt(verifyP50), ratio(1)],
        [
          `new pair, CorrRISE (p50 of ${fresh.length}; ${SERVED_SHARDS} shards per image, one thread)`,
          fmt(newP50),
          ratio(newP50 / verifyP50),
        ],
        ['… of which building both images (timing.basisMs)', fmt(basisP50), ratio(basisP50 / verifyP50)],
        [`cached pair, CorrRISE (p50 of ${cached.length})`, fmt(median(cached)), ratio(median(cached) / verifyP50)],
        [`one row (a masked copy embedded; Node, onnxruntime-web)`, fmt(perRow), ''],
        ['one row in the Worker, build overhead included (basisMs / 400)', fmt(workerRowMs), ''],
        ...projected.map((p) => [
          `projected new pair, P = ${p.shards} (both images at once, ${p.shardRows} rows per shard)`,
          fmt(p.wallMs),
          ratio(p.wallMs / verifyP50),
        ]),
      ],
    );
    spliceBenchmarks(
      'corrrise',
      `${table}\n\n_${machine().date.slice(0, 10)}, \`npm run bench:corrrise\`. Projected: the pair's time outside the builds + one shard's rows at the Worker's measured cost per row (overhead included); it assumes the shards run on different threads, which Cloudflare does not promise._`,
    );
    console.log(`${table}\nwrote ${path}`);
  } finally {
    await server.stop();
  }
}

main().catch((e: unknown) => {
  console.error(`bench:corrrise: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
