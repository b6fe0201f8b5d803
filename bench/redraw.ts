/**
 * `npm run bench:redraw`: what a new θ costs on the demo page. The page redraws the
 * decision and the four face maps from P and Q in the browser (Debian's Chromium, headless,
 * through playwright-core); the baseline, measured in the same run, is what a client without
 * P and Q must do: call /v1/explain again with that θ (both bases cached) and fetch the
 * four overlay PNGs. Medians and p95 over 60 θ values each; JSON in
 * bench/results/redraw.json, the table in docs/benchmarks.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { REPO_ROOT } from '../eval/lib/faces.js';
import { machine, markdownTable, median, quantile, spliceBenchmarks, writeResults } from './lib/report.js';
import { startWranglerDev } from './lib/wrangler-dev.js';

const PAIR = ['biden_1.jpg', 'biden_2.jpg'].map((f) => join(REPO_ROOT, '..', 'shared', 'faces', 'photos', 'single', f));
const THETAS = Array.from({ length: 60 }, (_, i) => 0.3 + (0.69 * i) / 59);

const server = await startWranglerDev(8796);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${server.url}/#key=${server.key}`);
  await page.getByLabel('Choose photo A').setInputFiles(PAIR[0]!);
  await page.getByLabel('Choose photo B').setInputFiles(PAIR[1]!);
  await page.getByRole('button', { name: 'Compare' }).click();
  await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('Explained'), null, { timeout: 600_000 });

  // The page: set θ, redraw synchronously in the page (the same function the slider calls per frame).
  const slider = page.getByLabel('Threshold θ');
  const pageMs: number[] = [];
  for (const [i, θ] of [...THETAS, ...THETAS].entries()) {
    const value = θ.toFixed(3);
    await slider.fill(value);
    await page.waitForFunction((v) => document.getElementById('theta-value')?.textContent === v, Number(value).toFixed(4));
    const ms = Number(await page.locator('#redraw-ms').getAttribute('data-ms'));
    if (i >= THETAS.length) pageMs.push(ms); // the first pass warms the JIT
  }

  // The baseline: a call per θ (bases cached), then the four overlays.
  const form = () => {
    const fd = new FormData();
    PAIR.forEach((p, i) => fd.append(i ? 'b' : 'a', new Blob([readFileSync(p!)]), `${i}.jpg`));
    return fd;
  };
  const callMs: number[] = [];
  for (const θ of THETAS) {
    const t0 = performance.now();
    const fd = form();
    fd.append('threshold', θ.toFixed(3));
    const res = await fetch(`${server.url}/v1/explain`, { method: 'POST', body: fd, headers: server.auth });
    if (!res.ok) throw new Error(`explain answered ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as { maps: Record<string, Record<string, Record<string, string>>> };
    await Promise.all(
      ['a', 'b'].flatMap((s) =>
        ['similarity', 'dissimilarity'].map(async (k) => (await fetch(body.maps[s]![k]!['overlay.png']!)).arrayBuffer()),
      ),
    );
    callMs.push(performance.now() - t0);
  }

  const stats = (v: number[]) => ({ median: median(v), p95: quantile(v, 0.95), n: v.length });
  const results = {
    machine: machine(),
    browser: browser.version(),
    page: stats(pageMs),
    call: stats(callMs),
    ratio: median(callMs) / median(pageMs),
  };
  writeResults('redraw', results);
  const f = (v: number) => v.toFixed(1);
  const table = markdownTable(
    ['a new θ, by', 'median ms', 'p95 ms', 'runs'],
    [
      ['the demo page: decision and 4 face maps from P and Q, in Chromium', f(results.page.median), f(results.page.p95), pageMs.length],
      ['baseline: /v1/explain at that θ (bases cached) + 4 overlay PNGs', f(results.call.median), f(results.call.p95), callMs.length],
      ['ratio (baseline / page)', f(results.ratio), '', ''],
    ],
  );
  spliceBenchmarks('redraw', table);
  console.log(table);
} finally {
  await browser.close();
  await server.stop();
}
