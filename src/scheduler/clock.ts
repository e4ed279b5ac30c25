// Time as the scheduler sees it. Production uses the system clock; tests use a VirtualClock whose
// sleep moves time forward instead of waiting, so pacing and retry_after are tested without delay.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` (early, without error, when the signal aborts). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener("abort", done, { once: true });
    }),
};

/**
 * A clock that only moves when told to, or when someone sleeps on it. A sleep gives pending
 * work one turn of the event loop first (so an in-flight fake API call can finish), then moves
 * time to the wake-up instant unless it was aborted meanwhile. Time never goes backwards.
 */
export class VirtualClock implements Clock {
  private t: number;

  constructor(start: Date | number) {
    this.t = typeof start === "number" ? start : start.getTime();
  }

  now(): number {
    return this.t;
  }

  date(): Date {
    return new Date(this.t);
  }

  advance(ms: number): void {
    this.t += Math.max(0, ms);
  }

  set(to: Date | number): void {
    const next = typeof to === "number" ? to : to.getTime();
    if (next > this.t) this.t = next;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const target = this.t + Math.max(0, ms);
    await new Promise<void>((r) => setImmediate(r));
    if (!signal?.aborted && this.t < target) this.t = target;
  }
}
