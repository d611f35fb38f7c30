import { isTerminal } from '../contract/index.js';
import type { Execution } from '../contract/objects.js';
import { toDate } from './time.js';

// The per-namespace (tenant) cap on executions running at once. Those past it wait in Pending and
// are served in creation order. Decided from the cache alone: a stale cache only ever makes an
// Execution wait a pass longer, never lets two take the same slot, because only the oldest
// waiters may start and a started one counts as running from the moment its pod is recorded.

/** 0 when the execution may start now, else its place in the line (1 = next). */
export function queuePosition(execution: Execution, siblings: Iterable<Execution>, maxRunning: number): number {
  if (maxRunning <= 0) return 0;
  let running = 0;
  const waiting: Execution[] = [];
  for (const sibling of siblings) {
    if (sibling.metadata.namespace !== execution.metadata.namespace) continue;
    if (sibling.status?.phase && isTerminal(sibling.status.phase)) continue;
    if (sibling.status?.podName) running += 1;
    else if (sibling.spec.cancel !== true) waiting.push(sibling);
  }
  if (!waiting.some((sibling) => sibling.metadata.uid === execution.metadata.uid)) waiting.push(execution);
  waiting.sort(byCreation);
  const index = waiting.findIndex((sibling) => sibling.metadata.uid === execution.metadata.uid);
  const slots = Math.max(0, maxRunning - running);
  return index < slots ? 0 : index - slots + 1;
}

function byCreation(a: Execution, b: Execution): number {
  const time = (execution: Execution) => toDate(execution.metadata.creationTimestamp)?.getTime() ?? 0;
  return time(a) - time(b) || a.metadata.name.localeCompare(b.metadata.name);
}
