/**
 * @module bench/lib/report
 * Benchmark plumbing: timing loops, medians/percentiles, JSON results and markdown tables
 * spliced into docs/benchmarks.md between `<!-- bench:NAME -->` markers (generated tables
 * live there, not in prose).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../eval/lib/faces.js';

export { markdownTable } from '../../eval/lib/markdown.js';

export function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}
export const median = (v: number[]) => quantile(v, 0.5);

/** Time `fn` `runs` times after `warmup` calls; milliseconds per call. */
export async function timeRuns(fn: () => Promise<unknown> | unknown, runs: number, warmup = 3): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

export function machine() {
  return { node: process.version, platform: `${process.platform}-${process.arch}`, date: new Date().toISOString() };
}

export function writeResults(name: string, data: unknown): string {
  const dir = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  writeFileSync(path, `${JSON.stringify(data, null, 1)}\n`);
  return path;
}

/** Replace the block between `<!-- bench:name -->` and `<!-- /bench:name -->` in docs/benchmarks.md. */
export function spliceBenchmarks(name: string, markdown: string): void {
  const path = join(REPO_ROOT, 'docs', 'benchmarks.md');
  if (!existsSync(path)) return;
  const text = readFileSync(path, 'utf8');
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) {
    console.warn(`docs/benchmarks.md has no ${start} … ${end} block; table not inserted`);
    return;
  }
  writeFileSync(path, `${text.slice(0, i + start.length)}\n${markdown}\n${text.slice(j)}`);
}

export const fmt = (ms: number) => ms.toFixed(1);
export const ratio = (x: number) => `${x.toFixed(2)}×`;
