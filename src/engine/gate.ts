/**
 * @module engine/gate
 * Admission control inside one isolate: at most `limit` tasks run at once, at most
 * `maxQueued` more wait their turn (first come, first served), and any beyond that are
 * refused at once with GateFullError instead of piling up memory; a waiter that gets no
 * slot within `maxWaitMs` is refused the same way (an overloaded isolate sheds load
 * instead of holding requests past their clients' patience). Waiters poll their
 * ticket on their own timers (engine/shared-wait: no promise crosses requests).
 *
 * workerd drops a cancelled request's pending work (a client that disconnects), so a
 * holder may never release and a waiter may stop polling. Slots are therefore leases: a
 * waiter that has not polled for `staleMs` is skipped, and a lease held longer than
 * `maxHoldMs` is taken back when the gate is full.
 */
import { sleep } from './shared-wait.js';

export class GateFullError extends Error {
  constructor(
    readonly gate: string,
    readonly limit: number,
    readonly maxQueued: number,
    /** Set when the request waited its longest in the queue without getting a slot. */
    readonly waitedMs?: number,
  ) {
    super(
      waitedMs === undefined
        ? `${gate}: ${limit} running and ${maxQueued} waiting already`
        : `${gate}: no slot free after waiting ${Math.round(waitedMs)} ms`,
    );
    this.name = 'GateFullError';
  }
}

export interface GateTiming {
  /** A waiter that has not polled for this long is presumed gone. */
  staleMs: number;
  /** A lease held this long is presumed abandoned. */
  maxHoldMs: number;
  /** A waiter given no slot within this long leaves the queue with GateFullError (load shedding). */
  maxWaitMs: number;
  pollMs: number;
  now: () => number;
}

interface Lease {
  since: number;
}
interface Ticket {
  lease?: Lease;
  seen: number;
  dropped?: boolean;
}

export class Gate {
  private readonly leases = new Set<Lease>();
  private waiting: Ticket[] = [];
  private readonly timing: GateTiming;

  constructor(
    readonly name: string,
    readonly limit: number,
    readonly maxQueued: number,
    timing: Partial<GateTiming> = {},
  ) {
    if (!(limit >= 1) || !(maxQueued >= 0)) throw new Error(`gate ${name}: limit must be ≥ 1 and maxQueued ≥ 0`);
    this.timing = { staleMs: 10_000, maxHoldMs: 120_000, maxWaitMs: Number.POSITIVE_INFINITY, pollMs: 2, now: () => Date.now(), ...timing };
  }

  /** The most tasks ever running and waiting at once in this gate (since the isolate started). */
  readonly peak = { running: 0, waiting: 0 };

  get load(): { running: number; waiting: number } {
    return { running: this.leases.size, waiting: this.waiting.length };
  }

  private notePeak(): void {
    this.peak.running = Math.max(this.peak.running, this.leases.size);
    this.peak.waiting = Math.max(this.peak.waiting, this.waiting.length);
  }

  /**
   * Wait for a slot (or throw GateFullError). The returned release frees it; calling it
   * again does nothing, so a task may hand its slot back early.
   */
  async acquire(): Promise<() => void> {
    const { now, pollMs } = this.timing;
    this.reap();
    let lease: Lease;
    if (this.leases.size < this.limit && this.waiting.length === 0) {
      lease = { since: now() };
      this.leases.add(lease);
      this.notePeak();
    } else if (this.waiting.length < this.maxQueued) {
      const ticket: Ticket = { seen: now() };
      const queued = ticket.seen;
      this.waiting.push(ticket);
      this.notePeak();
      while (!ticket.lease) {
        await sleep(pollMs);
        ticket.seen = now();
        if (!ticket.lease && ticket.seen - queued > this.timing.maxWaitMs) {
          this.waiting = this.waiting.filter((w) => w !== ticket);
          throw new GateFullError(this.name, this.limit, this.maxQueued, ticket.seen - queued);
        }
        // Dropped as stale while the isolate was busy (a long synchronous run delays every
        // timer): it is alive after all, so it takes its place back at the front.
        if (ticket.dropped) {
          ticket.dropped = false;
          this.waiting.unshift(ticket);
        }
        this.reap();
      }
      lease = ticket.lease;
    } else throw new GateFullError(this.name, this.limit, this.maxQueued);
    return () => {
      if (this.leases.delete(lease)) this.reap();
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

  /** Drop gone waiters, take back abandoned leases, hand free slots to live waiters. */
  private reap(): void {
    const { now, staleMs, maxHoldMs } = this.timing;
    const t = now();
    this.waiting = this.waiting.filter((w) => {
      if (t - w.seen <= staleMs) return true;
      w.dropped = true;
      return false;
    });
    if (this.leases.size >= this.limit) for (const l of this.leases) if (t - l.since > maxHoldMs) this.leases.delete(l);
    this.grant();
  }

  private grant(): void {
    while (this.leases.size < this.limit && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      next.lease = { since: this.timing.now() };
      this.leases.add(next.lease);
      this.notePeak();
    }
  }
}
