/**
 * @module bench/lib/inspector
 * The Worker isolate's own memory figures through wrangler dev's DevTools inspector
 * (`--inspector-port`): V8's Runtime.getHeapUsage (JS heap and ArrayBuffer backing stores;
 * the wasm heap is not included, `/v1/models` reports it) and a forced garbage collection.
 */
import WebSocket from 'ws';

export interface HeapUsage {
  usedSize: number;
  totalSize: number;
  embedderHeapUsedSize?: number;
  backingStorageSize?: number;
}

export interface Inspector {
  heapUsage(): Promise<HeapUsage>;
  collectGarbage(): Promise<void>;
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
  const send = <T>(method: string): Promise<T> =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve as (r: unknown) => void);
      ws.send(JSON.stringify({ id, method }));
    });
  return {
    heapUsage: () => send<HeapUsage>('Runtime.getHeapUsage'),
    collectGarbage: async () => {
      await send('HeapProfiler.collectGarbage');
    },
    close: () => ws.close(),
  };
}
