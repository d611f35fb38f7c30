import { createHmac } from 'node:crypto';

// A result on its way to a tenant's callbackUrl: what is stored until it is delivered, and how it
// is signed and retried. Pure: the clock and the attempt count are parameters.

export interface Delivery {
  /** The execution's id; also sent as X-Sandpod-Delivery, so a receiver can drop repeats. */
  id: string;
  tenant: string;
  url: string;
  /** The result as JSON, exactly the bytes that are signed and sent. */
  body: string;
  /** POST (sandpod's results), or PUT (Judge0's submissions, as Judge0 sends them); POST when absent. */
  method?: 'POST' | 'PUT';
  /** When the first attempt was made (ms since the epoch): retries stop 10 minutes later. */
  firstAttemptAt: number;
  attempts: number;
}

export const DELIVERY_WINDOW_MS = 10 * 60 * 1000;
const MAX_BACKOFF_MS = 60_000;

export function signature(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function deliveryHeaders(delivery: Delivery, secret: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-sandpod-signature': signature(delivery.body, secret),
    'x-sandpod-delivery': delivery.id,
  };
}

/** How many attempts the backoff fits in the delivery window when every one fails at once. */
export function attemptsWithinWindow(initialBackoffMs: number): number {
  const delivery: Delivery = { id: '', tenant: '', url: '', body: '', firstAttemptAt: 0, attempts: 1 };
  let at = 0;
  for (;;) {
    const next = nextAttemptAt(delivery, at, initialBackoffMs);
    if (next === null) return delivery.attempts;
    at = next;
    delivery.attempts += 1;
  }
}

/** When to try again after `attempts` failed attempts, or null when the window has passed. */
export function nextAttemptAt(delivery: Delivery, now: number, initialBackoffMs: number): number | null {
  const backoff = Math.min(MAX_BACKOFF_MS, initialBackoffMs * 2 ** Math.max(0, delivery.attempts - 1));
  const next = now + backoff;
  return next > delivery.firstAttemptAt + DELIVERY_WINDOW_MS ? null : next;
}

/** Whether a callbackUrl's host is on the tenant's allow-list (a host name, or host:port). */
export function callbackHostAllowed(url: URL, allowedHosts: readonly string[]): boolean {
  const hosts = new Set(allowedHosts.map((host) => host.toLowerCase()));
  return hosts.has(url.host.toLowerCase()) || hosts.has(url.hostname.toLowerCase());
}
