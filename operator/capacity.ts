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
  const createdMs = (item: Execution) => toDate(item.metadata.creationTimestamp)?.getTime() ?? 0;
  const mine = { ms: createdMs(execution), name: execution.metadata.name };
  let running = 0;
  // Waiters created before this one (by name when at the same second): one count, no sort,
  // since every waiting Execution's pass reads the whole line.
  let ahead = 0;
  for (const sibling of siblings) {
    if (sibling.metadata.namespace !== execution.metadata.namespace) continue;
    if (sibling.metadata.uid === execution.metadata.uid) continue;
    if (sibling.status?.phase && isTerminal(sibling.status.phase)) continue;
    if (sibling.status?.podName) running += 1;
    else if (sibling.spec.cancel !== true) {
      const ms = createdMs(sibling);
      if (ms < mine.ms || (ms === mine.ms && sibling.metadata.name.localeCompare(mine.name) < 0)) ahead += 1;
    }
  }
  const slots = Math.max(0, maxRunning - running);
  return ahead < slots ? 0 : ahead - slots + 1;
}

/**
 * Where an Execution stands in line, as its status says it. Past the first ten, only a bound
 * (20, 50, 100, 200, 500, …): every start moves everyone behind it one place, and an exact number
 * would rewrite the status of every waiting Execution each time, which grows with the square of a
 * backlog. A bound changes a few times per decade of the line.
 */
export function placeInLine(position: number): string {
  if (position <= EXACT_PLACES) return String(position);
  let bound = EXACT_PLACES;
  for (let decade = EXACT_PLACES; ; decade *= 10) {
    for (const step of [decade, decade * 2, decade * 5]) {
      if (step >= position) return `more than ${bound}`;
      bound = step;
    }
  }
}

const EXACT_PLACES = 10;
