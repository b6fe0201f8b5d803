/**
 * @module engine/shared-wait
 * Waiting on work another request started, the way workerd allows it. A request that
 * awaits a promise settled by another request can be cancelled ("The script will never
 * generate a response": it has no I/O or timer of its own pending), and settling it from
 * the other request's context is cross-request I/O. So a waiter never attaches to a
 * pending foreign promise: it polls a flag on its own timers and reads the promise only
 * once it has settled.
 */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A promise other requests may wait on (create it in the request that does the work). */
export class Shared<T> {
  private settled = false;
  constructor(readonly promise: Promise<T>) {
    const settle = () => {
      this.settled = true;
    };
    promise.then(settle, settle);
  }

  /** Its value (or error), polling every `pollMs` until it settles. */
  async wait(pollMs = 10): Promise<T> {
    while (!this.settled) await sleep(pollMs);
    return this.promise;
  }
}

/**
 * A load shared by every request of the isolate: started by the first caller, waited on
 * by the others, kept once it succeeds and forgotten if it fails (the next caller retries).
 */
export class SharedLoad<T> {
  private current: Shared<T> | undefined;
  constructor(private readonly load: () => Promise<T>) {}

  get(): Promise<T> {
    if (!this.current) {
      const loading = new Shared(this.load());
      this.current = loading;
      loading.promise.catch(() => {
        if (this.current === loading) this.current = undefined;
      });
    }
    return this.current.wait();
  }
}
