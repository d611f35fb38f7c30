import { tooMany } from '../errors.js';
import type { Tenant } from './tenant.js';

/**
 * Sockets and streams each tenant holds open on this gateway process. Every one of them can hold
 * memory for a reader that does not read (a socket's buffers, a result being written), so a
 * tenant gets a bounded number of each, whatever its rate of new executions.
 */
export class TenantConnections {
  readonly #sockets = new Map<string, number>();
  readonly #streams = new Map<string, number>();

  /** Counts a socket of the tenant; throws a 429 ApiError past its `maxSockets`. Returns the release. */
  openSocket(tenant: Tenant): () => void {
    return take(this.#sockets, tenant.name, tenant.maxSockets, 'sockets open');
  }

  /** Counts a result or output stream being sent; throws a 429 ApiError past `maxStreams`. */
  openStream(tenant: Tenant): () => void {
    return take(this.#streams, tenant.name, tenant.maxStreams, 'executions followed or results being sent');
  }

  sockets(tenant: string): number {
    return this.#sockets.get(tenant) ?? 0;
  }

  streams(tenant: string): number {
    return this.#streams.get(tenant) ?? 0;
  }
}

/** Takes one of `max` for `tenant`; the returned release gives it back once, however often called. */
function take(counts: Map<string, number>, tenant: string, max: number, what: string): () => void {
  const held = counts.get(tenant) ?? 0;
  if (held >= max) throw tooMany(`tenant ${tenant} already has ${max} ${what}, its maximum`, 1);
  counts.set(tenant, held + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (counts.get(tenant) ?? 1) - 1;
    if (left > 0) counts.set(tenant, left);
    else counts.delete(tenant);
  };
}
