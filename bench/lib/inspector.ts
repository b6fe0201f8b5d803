/**
 * @module bench/lib/inspector
 * The Worker isolate's own memory figures through wrangler dev's DevTools inspector
 * (`--inspector-port`): V8's Runtime.getHeapUsage (JS heap and ArrayBuffer backing stores;
 * the wasm heap is not included, `/v1/models` reports it), and a full collection
 * (HeapProfiler.collectGarbage) to tell live memory from garbage; and wrangler dev started
 * with its inspector on the right isolate (`startWithInspector`).
 */
import WebSocket from 'ws';
import { type DevServer, startWranglerDev } from './wrangler-dev.js';

export interface HeapUsage {
  usedSize: number;
  totalSize: number;
  embedderHeapUsedSize?: number;
  backingStorageSize?: number;
}

export interface Inspector {
  /** undefined when the runtime did not answer within 5 s. */
  heapUsage(): Promise<HeapUsage | undefined>;
  /**
   * A full GC in the isolate; false when the runtime did not answer within 30 s. workerd
   * runs it when the isolate next handles a request, so `nudge` (e.g. a GET /healthz) is
   * called until it answers.
   */
  collectGarbage(nudge: () => Promise<unknown>, timeoutMs?: number): Promise<boolean>;
  close(): void;
}

export async function connectInspector(port: number): Promise<Inspector> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (m.id !== undefined && pending.has(m.id)) {
      pending.get(m.id)!(m.result);
      pending.delete(m.id);
    }
  });
  // wrangler's inspector proxy can drop a message when it reconnects to the runtime, so
  // every call has a deadline (undefined when it passes).
  const send = <T>(method: string, timeoutMs = 5000): Promise<T | undefined> =>
    new Promise((resolve) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve(undefined);
      }, timeoutMs);
      pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r as T);
      });
      ws.send(JSON.stringify({ id, method, params: {} }));
    });
  return {
    heapUsage: () => send<HeapUsage>('Runtime.getHeapUsage'),
    collectGarbage: async (nudge, timeoutMs = 30_000) => {
      if ((await send<object>('HeapProfiler.enable')) === undefined) return false;
      let answered: boolean | undefined;
      const collected = send<object>('HeapProfiler.collectGarbage', timeoutMs).then((r) => (answered = r !== undefined));
      while (answered === undefined) {
        await nudge();
        await Promise.race([collected, new Promise((r) => setTimeout(r, 200))]);
      }
      return answered;
    },
    close: () => ws.close(),
  };
}

/**
 * wrangler dev with its inspector attached to the API Worker's isolate. With two Workers,
 * wrangler's inspector proxy sometimes attaches to the photo-models Worker's isolate
 * instead (decided when the server starts: seen in 2 of 5 starts; reconnecting keeps the
 * same isolate). That isolate never runs a GC that GET /healthz nudges, so a server whose
 * inspector does not answer one within 10 s is stopped and started again (3 tries).
 */
export async function startWithInspector(
  port: number,
  inspectorPort: number,
  options: Omit<Parameters<typeof startWranglerDev>[1] & object, 'inspectorPort'> = {},
): Promise<{ server: DevServer; inspector: Inspector }> {
  for (let attempt = 1; ; attempt++) {
    const server = await startWranglerDev(port, { ...options, inspectorPort });
    const inspector = await connectInspector(inspectorPort);
    const nudge = () => fetch(`${server.url}/healthz`).then((r) => r.text());
    if (await inspector.collectGarbage(nudge, 10_000)) return { server, inspector };
    inspector.close();
    await server.stop();
    if (attempt === 3) throw new Error("wrangler dev's inspector did not attach to the API Worker in 3 starts");
    console.log(`wrangler dev's inspector is not on the API Worker's isolate: starting it again (${attempt}/3)`);
  }
}
