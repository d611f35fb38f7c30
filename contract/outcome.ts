// The outcome model shared by REST, Socket.IO and the Execution CRD status (CONTRACT.md).

export const PHASES = ['Pending', 'Running', 'Succeeded', 'Failed'] as const;
export type Phase = (typeof PHASES)[number];

export const TERMINAL_PHASES: ReadonlySet<Phase> = new Set(['Succeeded', 'Failed']);

export const REASONS = [
  'Completed',
  'NonZeroExit',
  'CompileError',
  'TimeLimitExceeded',
  'MemoryLimitExceeded',
  'OutputLimitExceeded',
  'Cancelled',
  'Signaled',
  'SystemError',
  'Accepted',
  'WrongAnswer',
  'Skipped',
] as const;
export type Reason = (typeof REASONS)[number];

export const STREAMS = ['stdout', 'stderr'] as const;
export type Stream = (typeof STREAMS)[number];

/** What a step used, measured by the sandbox (cgroup counters, or the launcher in a pod). */
export interface Usage {
  cpuTimeMs: number;
  wallTimeMs: number;
  memoryPeakMiB: number;
}

export interface CompileOutcome {
  exitCode: number | null;
  durationMs: number;
  /** stdout and stderr of the compiler together, capped. */
  output: string;
  usage?: Usage;
}

/** One test of a judged execution, in request order. */
export interface TestOutcome {
  name: string;
  reason: Reason;
  exitCode: number | null;
  signal: string | null;
  message: string;
  stdout: string;
  stderr: string;
  truncated: boolean;
  usage: Usage | null;
}

export interface TestSummary {
  passed: number;
  failed: number;
  skipped: number;
  total: number;
}

export interface ExecutionOutcome {
  phase: Phase;
  /** Set once the phase is terminal. */
  reason: Reason | null;
  exitCode: number | null;
  signal: string | null;
  message: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Wall time of the run step. */
  durationMs: number | null;
  compile?: CompileOutcome;
  stdout: string;
  stderr: string;
  truncated: boolean;
  /** Of the run step; null until it ran (and for a judged execution with `tests`, see there). */
  usage?: Usage | null;
  tests?: TestOutcome[];
  summary?: TestSummary;
}

export interface ExecutionResult extends ExecutionOutcome {
  id: string;
  runtime: string;
}

export function isTerminal(phase: Phase): boolean {
  return TERMINAL_PHASES.has(phase);
}

/** Only a clean exit, or an accepted answer, succeeds; every other reason is a failure. */
export function phaseFor(reason: Reason): Phase {
  return reason === 'Completed' || reason === 'Accepted' ? 'Succeeded' : 'Failed';
}
