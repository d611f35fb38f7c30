import type { Limits } from '../../contract/limit-values.js';
import type { ExecutionResult, Phase } from '../../contract/outcome.js';
import { formatBytes, formatDuration } from './units.js';

// Plain words for the outcome model, so a student reads "Time limit exceeded after 2.0 s" rather
// than "Failed/TimeLimitExceeded".

export type Tone = 'neutral' | 'busy' | 'success' | 'failure' | 'warning';

export interface OutcomeText {
  headline: string;
  /** Short facts after the headline: run time, exit code, signal. */
  facts: string[];
  /** Extra sentences worth a line of their own (truncation, platform messages). */
  notes: string[];
  tone: Tone;
}

/** A phase before the end; `Running` covers the compile step too, the events do not tell them apart. */
export function describePhase(phase: Phase, compiled: boolean): OutcomeText {
  const running = compiled ? 'Compiling and running…' : 'Running…';
  const headline = phase === 'Pending' ? 'Waiting for a sandbox…' : phase === 'Running' ? running : phase;
  return { headline, facts: [], notes: [], tone: 'busy' };
}

/** Describes a terminal result; `limits` are the ones the run was started with, for the wording. */
export function describeResult(result: ExecutionResult, limits: Limits): OutcomeText {
  const facts: string[] = [];
  const notes: string[] = [];
  if (result.durationMs !== null) facts.push(`Run time ${formatDuration(result.durationMs)}`);
  if (result.exitCode !== null) facts.push(`Exit code ${result.exitCode}`);
  if (result.signal) facts.push(`Signal ${result.signal}`);
  if (result.truncated) {
    notes.push(`Output truncated: the program wrote more than ${formatBytes(limits.outputBytes)}.`);
  }

  const elapsed = result.durationMs ?? limits.wallTimeMs;
  switch (result.reason) {
    case 'Completed':
      return { headline: 'Finished', facts, notes, tone: 'success' };
    case 'NonZeroExit':
      return { headline: `Exited with code ${result.exitCode ?? '?'}`, facts, notes, tone: 'failure' };
    case 'CompileError':
      return { headline: 'Compilation failed', facts: compileFacts(result), notes, tone: 'failure' };
    case 'TimeLimitExceeded':
      return { headline: `Time limit exceeded after ${formatDuration(elapsed)}`, facts, notes, tone: 'failure' };
    case 'MemoryLimitExceeded':
      return {
        headline: `Memory limit exceeded (${formatBytes(limits.memoryMiB * 1024 * 1024)})`,
        facts,
        notes,
        tone: 'failure',
      };
    case 'OutputLimitExceeded':
      return { headline: `Output limit exceeded (${formatBytes(limits.outputBytes)})`, facts, notes, tone: 'failure' };
    case 'Cancelled':
      return { headline: 'Cancelled', facts, notes, tone: 'warning' };
    case 'Signaled':
      return { headline: `Killed by ${result.signal ?? 'a signal'}`, facts, notes, tone: 'failure' };
    case 'SystemError':
      return {
        headline: 'The sandbox failed',
        facts,
        notes: result.message ? [result.message, ...notes] : notes,
        tone: 'failure',
      };
    default:
      return { headline: result.message || result.phase, facts, notes, tone: 'neutral' };
  }
}

function compileFacts(result: ExecutionResult): string[] {
  if (!result.compile) return [];
  const facts = [`Compile time ${formatDuration(result.compile.durationMs)}`];
  if (result.compile.exitCode !== null) facts.push(`Compiler exit code ${result.compile.exitCode}`);
  return facts;
}
