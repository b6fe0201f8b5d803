/**
 * @module engine/gate
 * Admission control inside one isolate: at most `limit` tasks run at once, at most
 * `maxQueued` more wait their turn (first come, first served), and any beyond that are
 * refused at once with GateFullError instead of piling up memory. Waiters poll their
 * ticket on their own timers (engine/shared-wait: no promise crosses requests).
 */
import { sleep } from './shared-wait.js';

export class GateFullError extends Error {
  constructor(readonly gate: string, readonly limit: number, readonly maxQueued: number) {
    super(`${gate}: ${limit} running and ${maxQueued} waiting already`);
    this.name = 'GateFullError';
  }
}

export class Gate {
  private running = 0;
  private readonly waiting: { granted: boolean }[] = [];

  constructor(readonly name: string, readonly limit: number, readonly maxQueued: number, private readonly pollMs = 2) {
    if (!(limit >= 1) || !(maxQueued >= 0)) throw new Error(`gate ${name}: limit must be ≥ 1 and maxQueued ≥ 0`);
  }

  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /**
   * Wait for a slot (or throw GateFullError). The returned release frees it; calling it
   * again does nothing, so a task may hand its slot back early.
   */
  async acquire(): Promise<() => void> {
    if (this.running < this.limit) this.running++;
    else if (this.waiting.length < this.maxQueued) {
      const ticket = { granted: false };
      this.waiting.push(ticket);
      while (!ticket.granted) await sleep(this.pollMs);
    } else throw new GateFullError(this.name, this.limit, this.maxQueued);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter (running stays the same).
      if (next) next.granted = true;
      else this.running--;
    };
  }

  /** Run a task in a slot; the slot is freed however the task ends. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await task();
    } finally {
      release();
    }
  }
}
