import { type Comparison, compareOutput } from './compare.js';
import type { Reason, TestOutcome, TestSummary, Usage } from './outcome.js';
import type { Compare, TestCase } from './request.js';
import type { Verdict } from './verdict.js';

// Judging, the same on both backends: a step that exited cleanly is Accepted or WrongAnswer once
// an expected output is given; a judged execution's reason follows its tests.

const PASSING: ReadonlySet<Reason> = new Set(['Accepted', 'Completed']);

export const testPassed = (reason: Reason) => PASSING.has(reason);

/** A clean exit judged against the expected output; any other verdict stands as it is. */
export function judgeStep(
  verdict: Verdict,
  stdout: string,
  expectedOutput: string | undefined,
  compare: Compare | undefined,
): Verdict {
  if (verdict.reason !== 'Completed' || expectedOutput === undefined) return verdict;
  const comparison: Comparison = compareOutput(expectedOutput, stdout, compare);
  return comparison.matched
    ? { reason: 'Accepted', message: 'output matched the expected output' }
    : { reason: 'WrongAnswer', message: `output differs from the expected output at ${comparison.difference}` };
}

export function testName(test: TestCase, index: number): string {
  return test.name ?? `test ${index + 1}`;
}

export function skippedTest(name: string): TestOutcome {
  return {
    name,
    reason: 'Skipped',
    exitCode: null,
    signal: null,
    message: 'not run: an earlier test did not pass (stopOnFirstFailure)',
    stdout: '',
    stderr: '',
    truncated: false,
    usage: null,
  };
}

export function summarize(tests: readonly TestOutcome[]): TestSummary {
  const passed = tests.filter((test) => testPassed(test.reason)).length;
  const skipped = tests.filter((test) => test.reason === 'Skipped').length;
  return { passed, failed: tests.length - passed - skipped, skipped, total: tests.length };
}

/** The test that decides the execution's outcome: the first that did not pass, if any. */
export function decidingTest(tests: readonly TestOutcome[]): TestOutcome | undefined {
  return tests.find((test) => !testPassed(test.reason) && test.reason !== 'Skipped');
}

/** The test whose exit code and signal a judged execution shows: the deciding one, else the last that ran. */
export function shownTest(tests: readonly TestOutcome[]): TestOutcome | undefined {
  return decidingTest(tests) ?? tests.filter((test) => test.usage !== null).at(-1);
}

/** Accepted when every test passed, else the reason of the first test that did not. */
export function testsVerdict(tests: readonly TestOutcome[]): Verdict {
  const summary = summarize(tests);
  const deciding = decidingTest(tests);
  if (!deciding) return { reason: 'Accepted', message: `all ${summary.total} tests passed` };
  return {
    reason: deciding.reason,
    message: `${summary.passed}/${summary.total} tests passed; ${deciding.name}: ${deciding.message}`,
  };
}

/** Usage of the tests together: times added up, the highest memory peak. */
export function totalUsage(tests: readonly TestOutcome[]): Usage | null {
  const usages = tests.flatMap((test) => (test.usage ? [test.usage] : []));
  if (usages.length === 0) return null;
  return {
    cpuTimeMs: usages.reduce((total, usage) => total + usage.cpuTimeMs, 0),
    wallTimeMs: usages.reduce((total, usage) => total + usage.wallTimeMs, 0),
    memoryPeakMiB: Math.max(...usages.map((usage) => usage.memoryPeakMiB)),
  };
}
