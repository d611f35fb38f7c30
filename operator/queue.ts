// A work queue of object keys (`namespace/name`), after client-go's: a key waits at most once in
// the queue however often it is added, is never handed to two workers at once, and one added while
// a worker holds it comes back once the worker is done. Failed keys return after an exponential
// backoff; time is injected, so tests drive it without sleeping.

export interface Timers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const handle = setTimeout(callback, ms);
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface BackoffPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Delay before retry number `failures` (1 for the first): base, 2×base, 4×base, … up to max. */
export function backoffDelay(failures: number, policy: BackoffPolicy): number {
  const exponent = Math.max(0, failures - 1);
  // 2^exponent overflows to Infinity long before it matters; min() keeps it finite.
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(exponent, 52));
}

export class WorkQueue {
  private readonly ready: string[] = [];
  private readonly waiting = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly later = new Map<string, { at: number; handle: unknown }>();
  private readonly failures = new Map<string, number>();
  private readonly takers: ((key: string | undefined) => void)[] = [];
  private closed = false;

  constructor(
    private readonly backoff: BackoffPolicy,
    private readonly timers: Timers = realTimers,
  ) {}

  /** Keys waiting to be worked on (not those held by a worker or scheduled for later). */
  get depth(): number {
    return this.ready.length;
  }

  add(key: string): void {
    if (this.closed) return;
    this.cancelLater(key);
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.waiting.has(key)) return;
    const taker = this.takers.shift();
    if (taker) {
      this.active.add(key);
      taker(key);
      return;
    }
    this.waiting.add(key);
    this.ready.push(key);
  }

  /** Adds the key after a delay; an earlier pending time for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.closed) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.timers.now() + delayMs;
    const pending = this.later.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.timers.clearTimeout(pending.handle);
    const handle = this.timers.setTimeout(() => {
      this.later.delete(key);
      this.add(key);
    }, delayMs);
    this.later.set(key, { at, handle });
  }

  /** Schedules a retry after the key's next backoff delay; returns that delay. */
  retry(key: string): number {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    const delay = backoffDelay(failures, this.backoff);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the key's failure count once it reconciled cleanly. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to work on; undefined once the queue is shut down. */
  take(): Promise<string | undefined> {
    const key = this.ready.shift();
    if (key !== undefined) {
      this.waiting.delete(key);
      this.active.add(key);
      return Promise.resolve(key);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.takers.push(resolve));
  }

  /** Ends a worker's hold on the key; a key added meanwhile goes back in the queue. */
  done(key: string): void {
    this.active.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  /** Stops handing out keys; workers waiting in take() get undefined. */
  shutDown(): void {
    this.closed = true;
    for (const { handle } of this.later.values()) this.timers.clearTimeout(handle);
    this.later.clear();
    for (const taker of this.takers.splice(0)) taker(undefined);
  }

  private cancelLater(key: string): void {
    const pending = this.later.get(key);
    if (!pending) return;
    this.timers.clearTimeout(pending.handle);
    this.later.delete(key);
  }
}
