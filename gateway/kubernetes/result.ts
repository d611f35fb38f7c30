import { type ExecutionResult, isTerminal, PHASES, type Phase, REASONS, type Reason } from '../../contract/index.js';
import type { ExecutionObject } from '../../contract/objects.js';

// The outcome model of an Execution's status, as REST and Socket.IO answer it. The operator writes
// a complete status; this reads whatever is there, so a status written by hand or by an older
// operator still gives a well-formed result.

const PHASE_RANK: Record<Phase, number> = { Pending: 0, Running: 1, Succeeded: 2, Failed: 2 };

export function phaseOf(execution: ExecutionObject): Phase {
  const phase = execution.status?.phase;
  return phase !== undefined && PHASES.includes(phase) ? phase : 'Pending';
}

/** Whether `next` comes after `current`: phases only move forward, whatever order updates arrive in. */
export function isLaterPhase(next: Phase, current: Phase): boolean {
  return PHASE_RANK[next] > PHASE_RANK[current];
}

export function isFinished(execution: ExecutionObject): boolean {
  return isTerminal(phaseOf(execution));
}

function reasonOf(phase: Phase, reason: unknown): Reason | null {
  if (!isTerminal(phase)) return null;
  if (typeof reason === 'string' && (REASONS as readonly string[]).includes(reason)) return reason as Reason;
  // A terminal status without a known reason: the platform's fault, never the program's success.
  return phase === 'Succeeded' ? 'Completed' : 'SystemError';
}

const timeText = (value: unknown): string | null => {
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'string' && value !== '' ? value : null;
};

const numberOrNull = (value: unknown): number | null => (typeof value === 'number' ? value : null);

export function toResult(execution: ExecutionObject): ExecutionResult {
  const status = execution.status ?? {};
  const phase = phaseOf(execution);
  return {
    id: execution.metadata.name ?? '',
    runtime: execution.spec.runtime,
    phase,
    reason: reasonOf(phase, status.reason),
    exitCode: numberOrNull(status.exitCode),
    signal: typeof status.signal === 'string' ? status.signal : null,
    message: typeof status.message === 'string' ? status.message : '',
    createdAt: timeText(execution.metadata.creationTimestamp) ?? new Date(0).toISOString(),
    startedAt: timeText(status.startedAt),
    finishedAt: timeText(status.finishedAt),
    durationMs: numberOrNull(status.durationMs),
    ...(status.compile ? { compile: { ...status.compile } } : {}),
    stdout: status.stdout ?? '',
    stderr: status.stderr ?? '',
    truncated: status.truncated === true,
    usage: status.usage ?? null,
    // Status is written without nulls; the contract has them.
    ...(status.tests
      ? {
          tests: status.tests.map((test) => ({
            ...test,
            exitCode: test.exitCode ?? null,
            signal: test.signal ?? null,
            usage: test.usage ?? null,
          })),
        }
      : {}),
    ...(status.summary ? { summary: { ...status.summary } } : {}),
  };
}

/** What to report of an Execution deleted before it finished: the status seen last, as a failure. */
export function deletedResult(last: ExecutionObject, now: Date): ExecutionResult {
  const result = toResult(last);
  if (isTerminal(result.phase)) return result;
  return {
    ...result,
    phase: 'Failed',
    reason: 'SystemError',
    message: 'the Execution was deleted before it finished',
    finishedAt: result.finishedAt ?? now.toISOString(),
  };
}
