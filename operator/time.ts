// Times as Kubernetes objects carry them: RFC 3339 strings or Dates, whole seconds.

export function toDate(value: Date | string | undefined | null): Date | undefined {
  if (value === undefined || value === null) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export function secondsSince(value: Date | string | undefined, now: Date): number {
  const since = toDate(value);
  return since ? Math.floor((now.getTime() - since.getTime()) / 1000) : 0;
}

/** Kubernetes writes times without fractions; so do we, so a re-read status compares equal. */
export function rfc3339(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(2))}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Math.round((ms % 60_000) / 1000)}s`;
}
