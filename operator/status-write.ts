import { isDeepStrictEqual } from 'node:util';
import type { ExecutionStatus } from '../contract/crd.js';

// Status as it is written to the API, and whether a new one differs from the one there.

/** Write status only when this returns true; it ignores nothing, since times are kept stable. */
export function statusChanged(current: Partial<ExecutionStatus> | undefined, next: ExecutionStatus): boolean {
  return !isDeepStrictEqual(normalize(current ?? {}), normalize(next));
}

function normalize(status: Partial<ExecutionStatus>): unknown {
  return withoutNulls(JSON.parse(JSON.stringify(status)));
}

/**
 * Status as written: fields without a value are left out rather than null, as Kubernetes objects
 * do (the API server also checks a null against an enum and refuses it). Readers treat a missing
 * field as the outcome model's null.
 */
export function withoutNulls<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutNulls) as T;
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, field]) => field !== null && field !== undefined)
      .map(([key, field]) => [key, withoutNulls(field)]),
  ) as T;
}
