import { setTimeout as sleep } from 'node:timers/promises';
import { fullBucket, type RatePolicy, type TokenBucket, takeToken } from './token-bucket.js';

// The client side of being a good citizen of the API server: every request waits for a token of
// one bucket, as client-go's --kube-api-qps / --kube-api-burst do for Kubernetes' own controllers.
// Requests go in the order they asked, so a burst of work cannot starve the first caller.

export interface RequestLimiterOptions extends RatePolicy {
  /** Called once per request with the milliseconds it waited for its token (0 when it had one). */
  onWaited?: (waitedMs: number) => void;
  /** Milliseconds on a monotonic clock; tests pass their own. */
  now?: () => number;
  wait?: (ms: number) => Promise<unknown>;
}

export class RequestLimiter {
  private bucket: TokenBucket;
  /** The turn of the last caller; the next one waits behind it. */
  private last: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  private readonly wait: (ms: number) => Promise<unknown>;

  constructor(private readonly options: RequestLimiterOptions) {
    this.now = options.now ?? (() => performance.now());
    this.wait = options.wait ?? ((ms) => sleep(ms));
    this.bucket = fullBucket(options, this.now());
  }

  /** Resolves when the caller may send its request. */
  acquire(): Promise<void> {
    const turn = this.last.then(() => this.take());
    this.last = turn;
    return turn;
  }

  private async take(): Promise<void> {
    const askedAt = this.now();
    for (;;) {
      const taken = takeToken(this.bucket, this.options, this.now());
      this.bucket = taken.bucket;
      if (taken.retryAfterMs === 0) break;
      await this.wait(taken.retryAfterMs);
    }
    this.options.onWaited?.(this.now() - askedAt);
  }
}

/**
 * Watches (and followed logs) stay open for minutes and are opened rarely; they are not paced, so
 * that a backlog of writes can never hold back the watch whose events say the backlog is done.
 */
export function isLongRunning(url: string): boolean {
  const query = new URL(url).searchParams;
  return ['watch', 'follow'].some((name) => query.get(name) === 'true' || query.get(name) === '1');
}
