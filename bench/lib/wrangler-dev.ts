/**
 * @module bench/lib/wrangler-dev
 * Start `wrangler dev` on a loopback port for a benchmark (models built and seeded into
 * the local R2, the accounts database migrated and a development key made, as `npm start`
 * does) and stop it afterwards.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../eval/lib/faces.js';

/** The API Worker and the photo-models Worker it binds to, as `npm start` runs them. */
export const WORKER_CONFIGS = ['wrangler.toml', 'wrangler.photo-models.toml'];

export interface DevServer {
  url: string;
  /** The development tenant's API key in this server's state. */
  key: string;
  /** `Authorization: Bearer <key>`. */
  auth: { authorization: string };
  /** PIDs of the workerd processes wrangler started (for memory readings). */
  workerdPids(): number[];
  /** wrangler's stderr so far (errors only: it runs with --log-level error). */
  stderr(): string;
  /** Wall time from spawn to the first /healthz answer. */
  readyMs: number;
  stop(): Promise<void>;
}

/**
 * Start wrangler dev on `port` with its own fresh local state folder (so every benchmark
 * run starts with empty caches), models seeded into it.
 */
export async function startWranglerDev(
  port = 8799,
  options: { inspectorPort?: number; vars?: Record<string, string> } = {},
): Promise<DevServer> {
  const bin = (name: string) => join(REPO_ROOT, 'node_modules', '.bin', name);
  const state = mkdtempSync(join(tmpdir(), 'xfv-bench-state-'));
  execFileSync(bin('tsx'), ['models/build.ts'], { cwd: REPO_ROOT, stdio: 'inherit' });
  execFileSync(bin('tsx'), ['models/seed.ts', '--persist-to', state], { cwd: REPO_ROOT, stdio: 'inherit' });
  execFileSync(bin('tsx'), ['src/cli/keys.ts', 'dev', '--persist-to', state, '--rate', '1000000/1'], { cwd: REPO_ROOT, stdio: 'ignore' });
  const key = readFileSync(join(state, 'dev-key.txt'), 'utf8').trim();
  const t0 = performance.now();
  const inspector = options.inspectorPort ? ['--inspector-port', String(options.inspectorPort)] : [];
  const vars = Object.entries(options.vars ?? {}).flatMap(([k, v]) => ['--var', `${k}:${v}`]);
  const child: ChildProcess = spawn(
    bin('wrangler'),
    [
      'dev',
      ...WORKER_CONFIGS.flatMap((c) => ['-c', c]),
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--log-level',
      'error',
      '--persist-to',
      state,
      ...inspector,
      ...vars,
    ],
    {
      cwd: REPO_ROOT,
      // A dev registry of its own: both Workers run in this one session, so it needs no
      // other, and a concurrent session (npm start, another test) registering the same
      // Worker names in the shared one (~/.config/.wrangler/registry) cannot reach it.
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_REGISTRY_PATH: join(state, 'registry') },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    },
  );
  let stderr = '';
  // Only the tail is kept: an overloaded runtime can log without end.
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-65536)));
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited: ${stderr.slice(-2000)}`);
    if (performance.now() - t0 > 120_000) throw new Error('wrangler dev did not answer within 120 s');
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const readyMs = performance.now() - t0;
  return {
    url,
    key,
    auth: { authorization: `Bearer ${key}` },
    readyMs,
    stderr: () => stderr,
    workerdPids: () => {
      try {
        return execFileSync('pgrep', ['-f', '-g', String(child.pid), 'workerd'], { encoding: 'utf8' })
          .trim()
          .split('\n')
          .filter(Boolean)
          .map(Number);
      } catch {
        return [];
      }
    },
    stop: async () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        /* already gone */
      }
      await new Promise((r) => setTimeout(r, 500));
      rmSync(state, { recursive: true, force: true });
    },
  };
}
