/**
 * The admission Gate: at most `limit` tasks at once, FIFO waiting up to `maxQueued`,
 * refusal beyond, slots freed however a task ends, early release idempotent.
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
    const task = (i: number) => gate.run(() => new Promise<number>((resolve) => { started.push(i); finish[i] = () => resolve(i); }));
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
    await expect(gate.run(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    const release = await gate.acquire();
    await expect(gate.acquire()).rejects.toThrow(/1 running and 0 waiting/);
    release();
    release();
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
    const again = await gate.acquire();
    expect(gate.load.running).toBe(1);
    again();
  });

  it('rejects nonsense limits', () => {
    expect(() => new Gate('x', 0, 1)).toThrow();
    expect(() => new Gate('x', 1, -1)).toThrow();
  });
});
