import type winston from 'winston';
import { errorMessage } from '../../observability/logger.js';
import { type Delivery, deliveryHeaders, nextAttemptAt } from './delivery.js';
import type { DeliveryStore } from './store.js';

// Sends finished results to callbackUrls from the gateway (never from a sandbox): signed, retried
// with backoff for up to 10 minutes, at least once. A delivery is stored before its first attempt
// and removed after its receiver answered 2xx, so a restarted gateway sends what was still due.

export interface CallbackDispatcherOptions {
  store: DeliveryStore;
  /** The tenant's callback secret as it is now; undefined when the tenant is gone. */
  secretOf(tenant: string): string | undefined;
  log: winston.Logger;
  initialBackoffMs: number;
  attemptTimeoutMs: number;
  /** How often the store is looked at again for deliveries due (another replica's, left behind). */
  rescanMs?: number;
  now?: () => number;
}

export class CallbackDispatcher {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Deliveries this process is sending: scheduled or being attempted. */
  private readonly sending = new Set<string>();
  private rescan: NodeJS.Timeout | undefined;
  private readonly attempts = new Set<AbortController>();
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: CallbackDispatcherOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Picks up the deliveries a previous gateway left due. */
  async resume(): Promise<number> {
    if (this.options.rescanMs && !this.rescan && !this.closed) {
      this.rescan = setInterval(() => {
        this.resume().catch((error: unknown) => {
          this.options.log.error('Failed to look for callback deliveries due', { error: errorMessage(error) });
        });
      }, this.options.rescanMs);
      this.rescan.unref();
    }
    const pending = (await this.options.store.pending()).filter((delivery) => !this.sending.has(delivery.id));
    let resumed = 0;
    for (const delivery of pending) {
      // Claimed before the first attempt, as enqueue does: another replica may be sending it, or
      // may have just seen the execution end and be about to.
      this.sending.add(delivery.id);
      const ours = await this.options.store.save(delivery).catch((error: unknown) => {
        this.options.log.error('Failed to claim a callback delivery', { id: delivery.id, error: errorMessage(error) });
        return false;
      });
      if (!ours || this.closed) {
        this.sending.delete(delivery.id);
        continue;
      }
      this.schedule(delivery, this.now());
      resumed += 1;
    }
    if (resumed > 0) this.options.log.info('Resumed callback deliveries', { count: resumed });
    return resumed;
  }

  /** Stores the delivery and makes the first attempt. */
  async enqueue(delivery: Omit<Delivery, 'firstAttemptAt' | 'attempts'>): Promise<void> {
    if (this.closed) return;
    const due: Delivery = { ...delivery, firstAttemptAt: this.now(), attempts: 0 };
    if (!(await this.options.store.save(due))) return;
    this.schedule(due, this.now());
  }

  /** Stops attempting; what is still due stays stored for the next gateway. */
  close(): void {
    this.closed = true;
    clearInterval(this.rescan);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const attempt of this.attempts) attempt.abort(new Error('the gateway is closing'));
  }

  private schedule(delivery: Delivery, at: number): void {
    if (this.closed) return;
    this.sending.add(delivery.id);
    clearTimeout(this.timers.get(delivery.id));
    const timer = setTimeout(
      () => {
        this.timers.delete(delivery.id);
        void this.attempt(delivery);
      },
      Math.max(0, at - this.now()),
    );
    timer.unref();
    this.timers.set(delivery.id, timer);
  }

  private async attempt(delivery: Delivery): Promise<void> {
    const { log, store } = this.options;
    // Done here, or handed back to the store for whoever holds it next.
    const settled = () => this.sending.delete(delivery.id);
    const secret = this.options.secretOf(delivery.tenant);
    if (secret === undefined) {
      log.warn('Dropped callback of a tenant without a callback secret', { id: delivery.id, tenant: delivery.tenant });
      settled();
      await store.remove(delivery.id);
      return;
    }
    const attempt = { ...delivery, attempts: delivery.attempts + 1 };
    const outcome = await this.post(attempt, secret);
    if (this.closed) return;
    if (outcome === 'delivered') {
      settled();
      log.info('Delivered callback', { id: delivery.id, tenant: delivery.tenant, attempts: attempt.attempts });
      await store.remove(delivery.id).catch((error: unknown) => {
        log.error('Failed to forget a delivered callback', { id: delivery.id, error: errorMessage(error) });
      });
      return;
    }
    const next = nextAttemptAt(attempt, this.now(), this.options.initialBackoffMs);
    if (next === null) {
      settled();
      log.warn('Gave up on callback after 10 minutes', { id: delivery.id, tenant: delivery.tenant, last: outcome });
      await store.remove(delivery.id);
      return;
    }
    log.info('Failed to deliver callback; will retry', { id: delivery.id, last: outcome, attempts: attempt.attempts });
    const stillOurs = await store.save(attempt).catch((error: unknown) => {
      // Not stored: tried again from here all the same, at least once is the promise.
      log.error('Failed to store a callback retry', { id: delivery.id, error: errorMessage(error) });
      return true;
    });
    if (!stillOurs) {
      settled();
      return;
    }
    this.schedule(attempt, next);
  }

  /** 'delivered' on a 2xx answer, else what went wrong. Redirects are not followed. */
  private async post(delivery: Delivery, secret: string): Promise<string> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('no answer in time')), this.options.attemptTimeoutMs);
    this.attempts.add(controller);
    try {
      const response = await fetch(delivery.url, {
        method: delivery.method ?? 'POST',
        headers: deliveryHeaders(delivery, secret),
        body: delivery.body,
        redirect: 'manual',
        signal: controller.signal,
      });
      await response.body?.cancel();
      return response.status >= 200 && response.status < 300 ? 'delivered' : `HTTP ${response.status}`;
    } catch (error) {
      return errorMessage(error);
    } finally {
      clearTimeout(timer);
      this.attempts.delete(controller);
    }
  }
}
