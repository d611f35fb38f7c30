import {
  type CompileOutcome,
  type ExecutionResult,
  judgeStep,
  type Phase,
  runVerdict,
  type Stream,
  shownTest,
  summarize,
  type TestCase,
  type TestOutcome,
  totalUsage,
  type Verdict,
} from '../../contract/index.js';
import { type StepOutcome, stepReport, stepUsage } from '../../sandbox/step.js';
import type { ExecutionSpec } from '../backend.js';

// What an embedded execution's result says, from what its steps gave: pure, so the shape of a
// plain run and of a judged one can be read in one place.

/** What every result of the execution shares, however it ran. */
export interface ExecutionState {
  id: string;
  runtime: string;
  phase: Phase;
  createdAt: Date;
  startedAt: Date | null;
  compile?: CompileOutcome;
}

function common(state: ExecutionState, verdict: Verdict | undefined, finishedAt: Date | undefined) {
  return {
    id: state.id,
    runtime: state.runtime,
    phase: state.phase,
    reason: verdict?.reason ?? null,
    message: verdict?.message ?? '',
    createdAt: state.createdAt.toISOString(),
    startedAt: state.startedAt?.toISOString() ?? null,
    finishedAt: finishedAt?.toISOString() ?? null,
    ...(state.compile ? { compile: state.compile } : {}),
  };
}

/** A single run: its exit, output and usage. */
export function runResult(
  state: ExecutionState,
  run: StepOutcome | undefined,
  output: Record<Stream, string>,
  verdict: Verdict | undefined,
  finishedAt: Date | undefined,
): ExecutionResult {
  return {
    ...common(state, verdict, finishedAt),
    exitCode: run?.exitCode ?? null,
    signal: run?.signal ?? null,
    durationMs: run?.wallMs ?? null,
    stdout: output.stdout,
    stderr: output.stderr,
    truncated: run?.limitHit === 'output',
    usage: run ? stepUsage(run) : null,
  };
}

/** A judged execution reads as its deciding test (the first that did not pass, else the last). */
export function judgedResult(
  state: ExecutionState,
  testOutcomes: readonly TestOutcome[],
  verdict: Verdict | undefined,
  finishedAt: Date | undefined,
): ExecutionResult {
  const tests = [...testOutcomes];
  const shown = shownTest(tests);
  const usage = totalUsage(tests);
  return {
    ...common(state, verdict, finishedAt),
    exitCode: shown?.exitCode ?? null,
    signal: shown?.signal ?? null,
    durationMs: usage?.wallTimeMs ?? null,
    stdout: '',
    stderr: '',
    truncated: tests.some((test) => test.truncated),
    usage,
    tests,
    summary: summarize(tests),
  };
}

/** One test's step, judged against its expected output. */
export function testOutcome(
  name: string,
  outcome: StepOutcome,
  output: Record<Stream, string>,
  test: TestCase,
  spec: ExecutionSpec,
): TestOutcome {
  const verdict = judgeStep(
    runVerdict(stepReport(outcome), spec.limits),
    output.stdout,
    test.expectedOutput,
    spec.compare,
  );
  return {
    name,
    reason: verdict.reason,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    message: verdict.message,
    stdout: output.stdout,
    stderr: output.stderr,
    truncated: outcome.limitHit === 'output',
    usage: stepUsage(outcome),
  };
}
