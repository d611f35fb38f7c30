import type { Limits } from './limit-values.js';
import type { Reason } from './outcome.js';

// How a step's end reads to a user: the contract's reason and a sentence that says why, in the
// same words on both backends. Each backend maps what it observed (the embedded step's outcome,
// the pod launcher's report and the kubelet's container state) into a StepReport first.

/** The limits the sandbox enforces by ending the step; 'memory' also covers the kernel's OOM kill. */
export type StepLimit = 'wall' | 'cpu' | 'memory' | 'output';

/** What ended a compile or run step, whichever backend ran it. */
export interface StepReport {
  /** The execution was cancelled while the step ran. */
  cancelled: boolean;
  /** Why the program could not be run at all; the program is not to blame. */
  startError: string | null;
  /** The limit at which the step was ended, or null when the program ended by itself. */
  limitHit: StepLimit | null;
  exitCode: number | null;
  /** Name of the signal that ended the program, such as SIGSEGV. */
  signal: string | null;
  /** CPU time the step had used when it was stopped, when known. */
  cpuMs?: number;
  /** Creating a process or thread failed at the pids limit at least once. */
  pidsLimitReached?: boolean;
}

export interface Verdict {
  reason: Reason;
  message: string;
}

const LIMIT_NAMES: Record<StepLimit, string> = {
  wall: 'wall time',
  cpu: 'CPU time',
  memory: 'memory',
  output: 'output',
};

/** "the wall time limit of 2000 ms"; "its wall time limit" when the limits are not known. */
function limitText(limit: StepLimit, limits: Limits | undefined): string {
  const name = LIMIT_NAMES[limit];
  if (!limits) return `its ${name} limit`;
  const value = {
    wall: `${limits.wallTimeMs} ms`,
    cpu: `${limits.cpuTimeMs} ms`,
    memory: `${limits.memoryMiB} MiB`,
    output: `${limits.outputBytes} bytes`,
  }[limit];
  return `the ${name} limit of ${value}`;
}

function exceeded(limit: StepLimit, report: StepReport, limits: Limits | undefined): string {
  const used = limit === 'cpu' && report.cpuMs !== undefined ? ` (${report.cpuMs} ms when stopped)` : '';
  return `exceeded ${limitText(limit, limits)}${used}`;
}

/**
 * The limit that ended the step. RLIMIT_CPU stays as a per-process backstop behind the sandbox's
 * own count, and its kill is SIGXCPU.
 */
export function limitOf(report: StepReport): StepLimit | null {
  return report.limitHit ?? (report.signal === 'SIGXCPU' ? 'cpu' : null);
}

const REASON_FOR_LIMIT: Record<StepLimit, Reason> = {
  wall: 'TimeLimitExceeded',
  cpu: 'TimeLimitExceeded',
  memory: 'MemoryLimitExceeded',
  output: 'OutputLimitExceeded',
};

/** The verdict on a run step. Limits the sandbox enforced come before the exit, which then only tells of the kill. */
export function runVerdict(report: StepReport, limits: Limits | undefined): Verdict {
  if (report.cancelled) return { reason: 'Cancelled', message: 'cancelled' };
  if (report.startError !== null) {
    return {
      reason: 'SystemError',
      message: `the program could not start: ${report.startError}; check the Runtime's run argv`,
    };
  }
  const limit = limitOf(report);
  if (limit) return { reason: REASON_FOR_LIMIT[limit], message: exceeded(limit, report, limits) };
  const pidsNote =
    report.pidsLimitReached && limits ? ` (creating processes or threads hit the limit of ${limits.pids})` : '';
  if (report.signal) return { reason: 'Signaled', message: `killed by ${report.signal}${pidsNote}` };
  if (report.exitCode === null) return { reason: 'SystemError', message: 'the program ended without an exit status' };
  if (report.exitCode === 0) return { reason: 'Completed', message: `exited with code 0${pidsNote}` };
  return { reason: 'NonZeroExit', message: `exited with code ${report.exitCode}${pidsNote}` };
}

/** The verdict on a compile step, or null when it succeeded and the run step goes on. */
export function compileVerdict(report: StepReport, limits: Limits | undefined): Verdict | null {
  if (report.cancelled) return { reason: 'Cancelled', message: 'cancelled while compiling' };
  if (report.startError !== null) {
    return {
      reason: 'SystemError',
      message: `the compiler could not start: ${report.startError}; check the Runtime's compile argv`,
    };
  }
  const limit = limitOf(report);
  if (limit) return { reason: 'CompileError', message: `the compiler ${exceeded(limit, report, limits)}` };
  if (report.exitCode === 0) return null;
  if (report.signal) return { reason: 'CompileError', message: `the compiler was killed by ${report.signal}` };
  if (report.exitCode === null) return { reason: 'SystemError', message: 'the compiler ended without an exit status' };
  return { reason: 'CompileError', message: `the compiler exited with code ${report.exitCode}` };
}
