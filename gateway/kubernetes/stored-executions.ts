import type { ExecutionObject } from '../../contract/objects.js';
import { isFinished } from './result.js';

// What a tenant keeps in etcd through its Executions, counted from the gateway's watch so that
// every replica sees the same figure: how many there are and how many bytes the API server stores
// for them (spec with source, files and stdin; status with output). The watch keeps a slim copy
// of each; its size is taken from the whole object as it arrived, before slimming.

const storedBytes = new WeakMap<object, number>();

/** Bytes of the Execution as the API server stores it (its JSON), close enough to etcd's value. */
export function executionBytes(execution: ExecutionObject): number {
  return Buffer.byteLength(JSON.stringify(execution), 'utf8');
}

/** Notes the size of the whole object against the slim copy the watch keeps of it. */
export function rememberStoredBytes(slim: ExecutionObject, whole: ExecutionObject): ExecutionObject {
  storedBytes.set(slim, executionBytes(whole));
  return slim;
}

/** The size noted for a slim copy, or its own size when none was (a copy made elsewhere). */
export function storedBytesOf(execution: ExecutionObject): number {
  return storedBytes.get(execution) ?? executionBytes(execution);
}

export interface StoredUsage {
  executions: number;
  bytes: number;
  /** When the first finished one is due to be deleted (finishedAt plus its TTL), if any. */
  nextExpiryMs?: number;
}

/** Adds up the tenant's Executions; `belongs` says which are the tenant's. */
export function storedUsage(
  executions: Iterable<ExecutionObject>,
  belongs: (execution: ExecutionObject) => boolean,
): StoredUsage {
  const usage: StoredUsage = { executions: 0, bytes: 0 };
  for (const execution of executions) {
    if (!belongs(execution)) continue;
    usage.executions += 1;
    usage.bytes += storedBytesOf(execution);
    const expiry = expiryMs(execution);
    if (expiry !== undefined && (usage.nextExpiryMs === undefined || expiry < usage.nextExpiryMs)) {
      usage.nextExpiryMs = expiry;
    }
  }
  return usage;
}

function expiryMs(execution: ExecutionObject): number | undefined {
  if (!isFinished(execution)) return undefined;
  const ttl = execution.spec.ttlSecondsAfterFinished;
  const finishedAt = execution.status?.finishedAt;
  if (ttl === undefined || finishedAt === undefined) return undefined;
  const finishedMs = new Date(finishedAt as string | Date).getTime();
  return Number.isNaN(finishedMs) ? undefined : finishedMs + ttl * 1000;
}
