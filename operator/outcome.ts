import type { CompileOutcome, Phase, Reason, Verdict } from '../contract/index.js';
import { phaseFor } from '../contract/index.js';

/** Where an execution stands this pass: the parts of its status that say how it went. */
export interface Outcome {
  phase: Phase;
  reason: Reason | null;
  message: string;
  exitCode: number | null;
  signal: string | null;
  compile?: CompileOutcome;
}

export const failed = (reason: Reason, message: string): Outcome => ({
  phase: phaseFor(reason),
  reason,
  message,
  exitCode: null,
  signal: null,
});

export const ended = (verdict: Verdict): Outcome => failed(verdict.reason, verdict.message);

export const pending = (message: string): Outcome => ({
  phase: 'Pending',
  reason: null,
  message,
  exitCode: null,
  signal: null,
});

export const running = (message: string): Outcome => ({
  phase: 'Running',
  reason: null,
  message,
  exitCode: null,
  signal: null,
});
