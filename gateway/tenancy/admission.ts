import { fullBucket, type TokenBucket, takeToken } from '../../kube/token-bucket.js';
import { tooMany } from '../errors.js';
import type { Tenant } from './tenant.js';

/** Gives back a slot taken by `admit`; calling it more than once is harmless. */
export type ReleaseSlot = () => void;

export interface Admission {
  /** Takes a slot for one more execution of the tenant, or throws a 429 ApiError. */
  admit(tenant: Tenant): ReleaseSlot;
  /** Executions of the tenant admitted and not yet released. */
  inFlight(tenantName: string): number;
  /**
   * Whether the backend counts each started execution until it ends: the caller then releases
   * its slot as soon as the start returns, and the backend's count takes over.
   */
  readonly backendCounts: boolean;
}

/** Unfinished executions of a tenant that the backend knows of, on every replica. */
export type UnfinishedCount = (tenantName: string) => number;

/** When a concurrency slot frees up is unknown; this is how soon a client should look again. */
const CONCURRENCY_RETRY_AFTER_SECONDS = 1;

/**
 * Admission of this gateway process: the per-tenant cap of unfinished executions and the start
 * rate. The clock is a parameter so the rate can be tested without waiting. Without
 * `unfinishedInBackend` each process counts only what it admitted itself; with it, the cap holds
 * across replicas (the start rate stays per process).
 */
export function createAdmission(now: () => number = Date.now, unfinishedInBackend?: UnfinishedCount): Admission {
  const buckets = new Map<string, TokenBucket>();
  const counts = new Map<string, number>();

  return {
    admit(tenant) {
      const running = (counts.get(tenant.name) ?? 0) + (unfinishedInBackend?.(tenant.name) ?? 0);
      if (running >= tenant.maxConcurrent) {
        throw tooMany(
          `tenant ${tenant.name} has ${running} unfinished executions, its maximum`,
          CONCURRENCY_RETRY_AFTER_SECONDS,
        );
      }
      const nowMs = now();
      const taken = takeToken(buckets.get(tenant.name) ?? fullBucket(tenant, nowMs), tenant, nowMs);
      buckets.set(tenant.name, taken.bucket);
      if (taken.retryAfterMs > 0) {
        throw tooMany(
          `tenant ${tenant.name} starts executions faster than ${tenant.ratePerSecond} per second`,
          Math.ceil(taken.retryAfterMs / 1000),
        );
      }
      counts.set(tenant.name, (counts.get(tenant.name) ?? 0) + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (counts.get(tenant.name) ?? 1) - 1;
        if (left > 0) counts.set(tenant.name, left);
        else counts.delete(tenant.name);
      };
    },
    inFlight(tenantName) {
      return counts.get(tenantName) ?? 0;
    },
    backendCounts: unfinishedInBackend !== undefined,
  };
}
