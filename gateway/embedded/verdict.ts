import type { Limits, Reason } from '../../contract/index.js';
import type { StepOutcome } from '../../sandbox/step.js';

// How a step's outcome reads to a user: the contract's reason and a sentence that says why.
// Limits the sandbox enforced itself come first, since the program's exit then only tells of
// the kill; the kernel's OOM kill next; the program's own exit last.

export interface Verdict {
  reason: Reason;
  message: string;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function compileVerdict(outcome: StepOutcome, limits: Limits): Verdict | null {
  if (outcome.cancelled) return { reason: 'Cancelled', message: 'cancelled while compiling' };
  if (outcome.systemError) return { reason: 'SystemError', message: `compile step failed: ${outcome.systemError}` };
  if (outcome.limitHit === 'wall' || outcome.limitHit === 'cpu') {
    const limit = outcome.limitHit === 'wall' ? limits.wallTimeMs : limits.cpuTimeMs;
    return { reason: 'CompileError', message: `compilation exceeded its time limit of ${seconds(limit)}` };
  }
  if (outcome.limitHit === 'output') {
    return { reason: 'CompileError', message: `the compiler wrote more than ${limits.outputBytes} bytes` };
  }
  if (outcome.oomKilled) {
    return { reason: 'CompileError', message: `the compiler ran out of memory (limit ${limits.memoryMiB} MiB)` };
  }
  if (outcome.exitCode === 0) return null;
  const how = outcome.signal ? `was killed by ${outcome.signal}` : `failed with exit code ${outcome.exitCode}`;
  return { reason: 'CompileError', message: `compilation ${how}` };
}

export function runVerdict(outcome: StepOutcome, limits: Limits): Verdict {
  if (outcome.cancelled) return { reason: 'Cancelled', message: 'cancelled' };
  if (outcome.systemError) return { reason: 'SystemError', message: outcome.systemError };
  switch (outcome.limitHit) {
    case 'output':
      return { reason: 'OutputLimitExceeded', message: `output exceeded ${limits.outputBytes} bytes` };
    case 'wall':
      return { reason: 'TimeLimitExceeded', message: `wall time limit of ${seconds(limits.wallTimeMs)} exceeded` };
    case 'cpu':
      return { reason: 'TimeLimitExceeded', message: `CPU time limit of ${seconds(limits.cpuTimeMs)} exceeded` };
    case null:
      break;
  }
  if (outcome.oomKilled && outcome.exitCode !== 0) {
    return { reason: 'MemoryLimitExceeded', message: `memory limit of ${limits.memoryMiB} MiB exceeded` };
  }
  const pidsNote = outcome.pidsLimitReached ? ` (creating processes or threads hit the limit of ${limits.pids})` : '';
  if (outcome.signal) return { reason: 'Signaled', message: `killed by ${outcome.signal}${pidsNote}` };
  if (outcome.exitCode === 0) return { reason: 'Completed', message: `exited with code 0${pidsNote}` };
  if (outcome.exitCode === null) return { reason: 'SystemError', message: 'the program ended without an exit status' };
  return { reason: 'NonZeroExit', message: `exited with code ${outcome.exitCode}${pidsNote}` };
}
