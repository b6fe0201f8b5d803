/**
 * The admission Gate: at most `limit` tasks at once, FIFO waiting up to `maxQueued`,
 * refusal beyond, slots freed however a task ends, early release idempotent; waiters and
 * holders of cancelled requests do not block it forever.
 */
import { describe, expect, it } from 'vitest';
import { Gate, GateFullError } from '../../src/engine/gate.js';

// Waiters poll every 2 ms: give them time to see their turn.
const tick = () => new Promise((r) => setTimeout(r, 20));

describe('Gate', () => {
  it('runs at most `limit` tasks, queues FIFO, refuses beyond the queue', async () => {
    const gate = new Gate('test', 2, 2);
    const started: number[] = [];
    const finish: (() => void)[] = [];
    const task = (i: number) =>
      gate.run(
        () =>
          new Promise<number>((resolve) => {
            started.push(i);
            finish[i] = () => resolve(i);
          }),
      );
    const runs = [0, 1, 2, 3].map(task);
    await tick();
    expect(started).toEqual([0, 1]);
    expect(gate.load).toEqual({ running: 2, waiting: 2 });
    await expect(task(4)).rejects.toBeInstanceOf(GateFullError);
    finish[1]!();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    finish[0]!();
    await tick();
    expect(started).toEqual([0, 1, 2, 3]);
    finish[2]!();
    finish[3]!();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
  });

  it('frees the slot when a task throws, and release is idempotent', async () => {
    const gate = new Gate('test', 1, 0);
    await expect(
      gate.run(async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const release = await gate.acquire();
    await expect(gate.acquire()).rejects.toThrow(/1 running and 0 waiting/);
    release();
    release();
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
    const again = await gate.acquire();
    expect(gate.load.running).toBe(1);
    again();
  });

  it('refuses a waiter that got no slot within maxWaitMs, and takes it out of the queue', async () => {
    let t = 0;
    const gate = new Gate('test', 1, 4, { maxWaitMs: 1000, now: () => t });
    const release = await gate.acquire();
    const waiting = gate.acquire();
    const later = gate.acquire();
    await tick();
    expect(gate.load).toEqual({ running: 1, waiting: 2 });
    t = 1001;
    // Both waiters give up at their next poll: settle them together, so neither rejection
    // goes unhandled while the other is awaited.
    const outcome = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e,
      );
    const [refused, refusedLater] = await Promise.all([outcome(waiting), outcome(later)]);
    expect(refused).toBeInstanceOf(GateFullError);
    expect((refused as GateFullError).waitedMs).toBeGreaterThan(1000);
    expect(refusedLater).toBeInstanceOf(GateFullError);
    expect((refusedLater as GateFullError).message).toMatch(/no slot free after waiting/);
    expect(gate.load).toEqual({ running: 1, waiting: 0 });
    release();
    // A waiter within its time still gets the slot.
    const holder = await gate.acquire();
    const patient = gate.acquire();
    t = 1500;
    await tick();
    holder();
    (await patient)();
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
  });

  it('skips waiters that stopped polling and takes back abandoned leases', async () => {
    let t = 0;
    const gate = new Gate('test', 1, 2, { staleMs: 1000, maxHoldMs: 60_000, now: () => t });
    const abandoned = await gate.acquire(); // its request is cancelled: never released
    // A waiter whose request is gone: its ticket stops being polled.
    const gone = { seen: 0 };
    (gate as unknown as { waiting: { seen: number }[] }).waiting.push(gone);
    let granted = false;
    const live = gate.acquire().then((release) => {
      granted = true;
      return release;
    });
    await tick();
    expect(granted).toBe(false);
    t = 30_000; // the gone ticket is stale now; the live one keeps polling
    await tick();
    expect(gate.load.waiting).toBe(1);
    expect(granted).toBe(false);
    t = 61_000; // the lease is abandoned: the live waiter gets it
    await tick();
    expect(granted).toBe(true);
    abandoned(); // a late release of the taken-back lease does nothing
    expect(gate.load).toEqual({ running: 1, waiting: 0 });
    (await live)();
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
  });

  it('gives a live waiter dropped as stale (its timers were late) its place back', async () => {
    let t = 0;
    const gate = new Gate('test', 1, 2, { staleMs: 1000, now: () => t });
    const holder = await gate.acquire();
    let granted = false;
    const waiter = gate.acquire().then((release) => {
      granted = true;
      return release;
    });
    await tick();
    t = 5000; // the holder's request sees the ticket stale before the waiter polls again
    holder();
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
    await tick();
    expect(granted).toBe(true);
    (await waiter)();
  });

  it('rejects nonsense limits', () => {
    expect(() => new Gate('x', 0, 1)).toThrow();
    expect(() => new Gate('x', 1, -1)).toThrow();
  });
});
