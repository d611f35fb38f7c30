import { type ExecutionSpec, STATUS_BOUNDS } from '../contract/crd.js';
import {
  isTerminal,
  judgeStep,
  type Limits,
  phaseFor,
  runVerdict,
  type StepReport,
  shownTest,
  signalName,
  skippedTest,
  summarize,
  type TestOutcome,
  type TestSummary,
  testName,
  testPassed,
  testsVerdict,
  totalUsage,
  type Usage,
} from '../contract/index.js';
import { type LaunchReport, reportUsage } from '../sandbox/launcher/report.js';
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

export interface JudgedTests {
  outcome: Outcome;
  tests: TestOutcome[];
  summary: TestSummary;
  usage: Usage | null;
}

/** A test's end as its launcher report tells it. */
function reportStep(report: LaunchReport): StepReport {
  return {
    cancelled: false,
    startError: report.error,
    limitHit: report.limit,
    exitCode: report.exitCode,
    signal: report.signal === null ? null : signalName(report.signal),
    ...(report.limit === 'cpu' ? { cpuMs: report.cpuMs } : {}),
  };
}

const bounded = (message: string) =>
  message.length > STATUS_BOUNDS.testMessageChars
    ? `${message.slice(0, STATUS_BOUNDS.testMessageChars - 1)}…`
    : message;

/**
 * The tests of a finished tests run, judged from the launcher's frames as embedded mode judges its
 * steps. With stopOnFirstFailure the launcher runs no test after the first that did not end
 * cleanly; after a wrong answer, which only the operator can see, the rest ran but are not
 * judged: either way they read Skipped. When the pod ended otherwise than by the launcher
 * finishing its round (a compile error, a cancel, the platform), that outcome stands and the
 * tests without a report were not run.
 */
export function judgedTests(
  outcome: Outcome,
  spec: ExecutionSpec,
  output: CapturedOutput | undefined,
  limits: Limits | undefined,
): JudgedTests | undefined {
  if (!spec.tests || !isTerminal(outcome.phase)) return undefined;
  const launcherFinished = outcome.reason === 'Completed';
  let stopped = false;
  const tests = spec.tests.map((test, index): TestOutcome => {
    const name = testName(test, index);
    const captured = output?.tests?.[index];
    if (stopped)
      return captured?.report
        ? { ...skippedTest(name), message: 'not judged: an earlier test did not pass (stopOnFirstFailure)' }
        : skippedTest(name);
    if (!captured?.report) {
      if (!launcherFinished) return { ...skippedTest(name), message: `not run: ${bounded(outcome.message)}` };
      return {
        ...skippedTest(name),
        reason: 'SystemError',
        message: 'its output and report could not be read from the pod log',
      };
    }
    const step = reportStep(captured.report);
    const verdict = judgeStep(runVerdict(step, limits), captured.wholeStdout, test.expectedOutput, spec.compare);
    if (spec.stopOnFirstFailure && !testPassed(verdict.reason)) stopped = true;
    const clean = step.limitHit === null && step.signal === null;
    return {
      name,
      reason: verdict.reason,
      exitCode: clean ? step.exitCode : null,
      signal: step.limitHit === null ? step.signal : 'SIGKILL',
      message: bounded(verdict.message),
      stdout: captured.stdout,
      stderr: captured.stderr,
      truncated: captured.truncated,
      usage: reportUsage(captured.report),
    };
  });
  const summary = summarize(tests);
  if (!launcherFinished) return { outcome, tests, summary, usage: totalUsage(tests) };
  const verdict = testsVerdict(tests);
  const deciding = shownTest(tests);
  return {
    outcome: {
      ...outcome,
      phase: phaseFor(verdict.reason),
      reason: verdict.reason,
      message: verdict.message,
      exitCode: deciding?.exitCode ?? null,
      signal: deciding?.signal ?? null,
    },
    tests,
    summary,
    usage: totalUsage(tests),
  };
}
