import type { ExecutionSpec } from '../contract/crd.js';
import { judgeStep, phaseFor } from '../contract/index.js';
import type { Outcome } from './outcome.js';
import type { CapturedOutput } from './output.js';

/**
 * A clean run judged against spec.expectedOutput, as the embedded backend judges it: on the whole
 * stdout read from the log, not the part status keeps. Without the output there is nothing to judge.
 */
export function judgedOutcome(outcome: Outcome, spec: ExecutionSpec, output: CapturedOutput | undefined): Outcome {
  if (outcome.reason !== 'Completed' || spec.expectedOutput === undefined || !output) return outcome;
  const verdict = judgeStep(
    { reason: outcome.reason, message: outcome.message },
    output.wholeStdout,
    spec.expectedOutput,
    spec.compare,
  );
  return { ...outcome, phase: phaseFor(verdict.reason), reason: verdict.reason, message: verdict.message };
}
