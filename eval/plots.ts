/**
 * @module eval/plots
 * `npm run eval:plots [-- --out eval/results]`: pictures of an evaluation a person would
 * rather look at than read, from summary.json:
 *  - curves-{black,gray}.png: accuracy vs % of pixels deleted / inserted, per method, for
 *    similarity maps (accepted genuine pairs) and dissimilarity maps (rejected impostors);
 *  - similarity-curves-gray.png: the mean cosine similarity along the same curves (the
 *    dissimilarity accuracy metric is nearly saturated; the mean similarity still separates
 *    the methods);
 *  - examples.png: example pairs with their FGGB similarity / dissimilarity overlays.
 * Charts are Vega-Lite specs rendered to SVG by vega and to PNG by resvg.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { encode } from 'fast-png';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { explainOptionsFor, explainPair } from '../src/engine/explain-pair.js';
import type { OrtModule } from '../src/engine/embed.js';
import { gradientRunner, gradientShape } from '../src/engine/gradient.js';
import { inputToRgb } from '../src/image/render.js';
import { overlayRgb } from '../src/image/overlay.js';
import { displayMap } from '../src/xfv/display.js';
import type { ModelManifest } from '../src/xfv/manifest.js';
import { FACES_DIR, REPO_ROOT, loadModelInput } from './lib/faces.js';
import { distGradient, nodeSession, ortNode } from './lib/ort.js';
import type { runEvaluation } from './faithfulness.js';

type Summary = Awaited<ReturnType<typeof runEvaluation>>;

async function chart(spec: vegaLite.TopLevelSpec, path: string) {
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  writeFileSync(path, new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 2 } }).render().asPng());
}

function curveRows(summary: Summary, fill: string, field: 'accuracy' | 'meanSimilarity') {
  return summary.rows
    .filter((r) => r.subset === 'focus' && r.fill === fill)
    .flatMap((r) =>
      summary.ratios.map((ratio, i) => ({
        method: r.method,
        maps: `${r.kind} maps on ${r.kind === 'similarity' ? 'accepted genuine' : 'rejected impostor'} probes (n = ${r.n})`,
        mode: r.mode,
        percent: ratio * 100,
        value: r[field][i],
      })),
    );
}

function curveSpec(rows: unknown[], title: string, yTitle: string): vegaLite.TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: rows as Record<string, unknown>[] },
    facet: {
      row: { field: 'maps', title: null, header: { labelAngle: 0, labelOrient: 'top', labelAnchor: 'start', labelFontSize: 12 } },
      column: { field: 'mode', title: null, header: { labelFontSize: 13 } },
    },
    spec: {
      width: 260,
      height: 170,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'percent', type: 'quantitative', title: '% of pixels perturbed (most salient first)' },
        y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false } },
        color: { field: 'method', type: 'nominal', scale: { scheme: 'tableau10' } },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

async function examples(path: string) {
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'models', 'dist', 'manifest.json'), 'utf8')) as ModelManifest;
  const gradient = distGradient(join(REPO_ROOT, 'models', 'dist'));
  const session = await nodeSession(gradient.graph, gradient.options);
  const runner = gradientRunner(ortNode as unknown as OrtModule, session as never, gradientShape(manifest));
  const spec = { size: 150, mean: manifest.input.mean, scale: manifest.input.scale };
  const pairs = [
    ['amy/amy1.png', 'amy/amy3.png'],
    ['sheldon/sheldon1.png', 'sheldon/sheldon4.png'],
    ['amy/amy1.png', 'raj/raj2.png'],
    ['penny/penny1.png', 'bernadette/bernadette2.png'],
  ];
  const S = 150;
  const cols = 6;
  const pad = 4;
  const width = cols * S + (cols + 1) * pad;
  const height = pairs.length * S + (pairs.length + 1) * pad;
  const grid = new Uint8Array(width * height * 3).fill(255);
  const blit = (rgb: Uint8Array, row: number, col: number) => {
    const x0 = pad + col * (S + pad);
    const y0 = pad + row * (S + pad);
    for (let y = 0; y < S; y++) grid.set(rgb.subarray(y * S * 3, (y + 1) * S * 3), ((y0 + y) * width + x0) * 3);
  };
  for (const [row, [pa, pb]] of pairs.entries()) {
    const xs = [pa!, pb!].map((p) => loadModelInput(join(FACES_DIR, 'bbt', p)));
    const expl = await explainPair(
      runner,
      [
        { x: xs[0]!, basisKey: pa! },
        { x: xs[1]!, basisKey: pb! },
      ],
      explainOptionsFor(manifest, { method: 'fggb', dtype: 'f32' }),
    );
    for (const [i, img] of (['a', 'b'] as const).entries()) {
      const face = inputToRgb(xs[i]!, spec);
      blit(face, row, i * 3);
      blit(overlayRgb(displayMap(expl[img].maps.similarity, S, S), face, S, S), row, i * 3 + 1);
      blit(overlayRgb(displayMap(expl[img].maps.dissimilarity, S, S), face, S, S), row, i * 3 + 2);
    }
  }
  writeFileSync(path, encode({ width, height, data: grid, channels: 3, depth: 8 }));
}

async function main() {
  const outAt = process.argv.indexOf('--out');
  const out = resolve(outAt >= 0 ? process.argv[outAt + 1]! : join(REPO_ROOT, 'eval', 'results'));
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
  for (const fill of ['black', 'gray']) {
    await chart(
      curveSpec(
        curveRows(summary, fill, 'accuracy'),
        `Deletion (lower is better) and insertion (higher is better), ${fill} fill`,
        'accuracy at θ',
      ),
      join(out, `curves-${fill}.png`),
    );
  }
  await chart(
    curveSpec(curveRows(summary, 'gray', 'meanSimilarity'), 'Mean cosine similarity along the curves, gray fill', 'mean similarity'),
    join(out, 'similarity-curves-gray.png'),
  );
  await examples(join(out, 'examples.png'));
  console.log(`plots: wrote curves-black.png, curves-gray.png, similarity-curves-gray.png, examples.png in ${out}`);
}

await main();
