// The pure half of the chaos campaign's checks (bench/chaos.ts): pod creates counted from the
// API server's audit log, and which executions a fault touched and how much later they ended.

export interface PodCreates {
  /** Creates the API server answered with 201: pods that came into being. */
  created: number;
  /** Creates it refused (409 AlreadyExists and the like): attempts that made no pod. */
  refused: number;
}

interface AuditEvent {
  stage?: string;
  verb?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string };
  responseStatus?: { code?: number };
}

/**
 * Pod creates in `namespace`, by pod name, from audit log lines (JSON, one event a line; the
 * dev cluster's policy records pod creates at Metadata level, ResponseComplete stage). Lines that
 * are not such events are ignored: the log also holds other namespaces' pods.
 */
export function podCreatesFromAudit(lines: Iterable<string>, namespace: string): Map<string, PodCreates> {
  const byPod = new Map<string, PodCreates>();
  for (const line of lines) {
    if (!line.includes('"pods"')) continue;
    let event: AuditEvent;
    try {
      event = JSON.parse(line) as AuditEvent;
    } catch {
      continue;
    }
    const ref = event.objectRef;
    if (event.verb !== 'create' || ref?.resource !== 'pods' || ref.subresource) continue;
    if (ref.namespace !== namespace || event.stage !== 'ResponseComplete') continue;
    const name = ref.name ?? '(unnamed)';
    const counts = byPod.get(name) ?? { created: 0, refused: 0 };
    if (event.responseStatus?.code === 201) counts.created += 1;
    else counts.refused += 1;
    byPod.set(name, counts);
  }
  return byPod;
}

export interface FaultWindow {
  kind: string;
  /** When it was injected and when the part was back (ms, one clock with the executions). */
  startMs: number;
  recoveredMs: number;
}

export interface FinishedExecution {
  kind: string;
  acceptedMs: number;
  /** When its client had the final result; undefined when it never did (lost). */
  finishedMs?: number;
}

/** Whether the execution was under way (accepted, its result not yet in hand) during the fault. */
export function affectedBy(execution: FinishedExecution, fault: FaultWindow): boolean {
  const end = execution.finishedMs ?? Number.POSITIVE_INFINITY;
  return execution.acceptedMs <= fault.recoveredMs && end >= fault.startMs;
}

export const median = (values: readonly number[]): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/**
 * The latency each program kind has when no fault touched it: the median over executions that no
 * fault window overlapped. What a fault adds to an execution is its latency above that.
 */
export function undisturbedLatency(
  executions: readonly FinishedExecution[],
  faults: readonly FaultWindow[],
): Map<string, number> {
  const byKind = new Map<string, number[]>();
  for (const execution of executions) {
    if (execution.finishedMs === undefined) continue;
    if (faults.some((fault) => affectedBy(execution, fault))) continue;
    const list = byKind.get(execution.kind) ?? [];
    list.push(execution.finishedMs - execution.acceptedMs);
    byKind.set(execution.kind, list);
  }
  return new Map([...byKind].map(([kind, values]) => [kind, median(values)]));
}

/** Latency above the undisturbed median of its kind (never below 0), for a finished execution. */
export function addedLatencyMs(execution: FinishedExecution, undisturbed: Map<string, number>): number | undefined {
  if (execution.finishedMs === undefined) return undefined;
  const base = undisturbed.get(execution.kind);
  if (base === undefined || Number.isNaN(base)) return undefined;
  return Math.max(0, execution.finishedMs - execution.acceptedMs - base);
}
