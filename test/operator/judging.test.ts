import assert from 'node:assert/strict';
import { DEFAULT_LIMITS } from '../../contract/index.js';
import { judgedTests } from '../../operator/judging.js';
import { failed, type Outcome } from '../../operator/outcome.js';
import { captureOutput } from '../../operator/output.js';
import type { LaunchReport } from '../../sandbox/launcher/report.js';
import { execution, LAUNCH_REPORT, policy } from './fixtures.js';

const statusPolicy = policy().status;
const completed: Outcome = { phase: 'Succeeded', reason: 'Completed', message: '', exitCode: 0, signal: null };

/** The run log of a tests run as the launcher frames it. */
function frames(...parts: [number, 'o' | 'e' | 'r', string][]): Uint8Array {
  return Buffer.concat(
    parts.map(([test, kind, text]) => {
      const payload = Buffer.from(text).toString('base64');
      return Buffer.from(`\x1eSP ${test} ${kind} ${payload.length}\n${payload}\n`);
    }),
  );
}
const report = (fields: Partial<LaunchReport> = {}) => JSON.stringify({ ...LAUNCH_REPORT, ...fields });

describe('judgedTests', () => {
  const spec = {
    tests: [
      { name: 'one', stdin: '1', expectedOutput: '2' },
      { stdin: '2', expectedOutput: '4' },
      { stdin: '3', expectedOutput: '6' },
    ],
  };

  it('should judge each test from its frames and decide by the first that did not pass', () => {
    const log = frames(
      [0, 'o', '2\r\n'],
      [0, 'r', report()],
      [1, 'o', '5\n'],
      [1, 'e', 'warn\n'],
      [1, 'r', report()],
      [2, 'r', report({ limit: 'wall', exitCode: null, signal: 9, durationMs: 1000 })],
    );
    const output = captureOutput({ stdout: log }, DEFAULT_LIMITS, statusPolicy, 3);

    const judged = judgedTests(completed, execution(spec).spec, output, DEFAULT_LIMITS);

    assert.ok(judged);
    assert.deepEqual(
      judged.tests.map((test) => [test.name, test.reason]),
      [
        ['one', 'Accepted'],
        ['test 2', 'WrongAnswer'],
        ['test 3', 'TimeLimitExceeded'],
      ],
    );
    assert.equal(judged.tests[1]?.stderr, 'warn\n');
    assert.equal(judged.tests[2]?.signal, 'SIGKILL');
    assert.deepEqual(judged.summary, { passed: 1, failed: 2, skipped: 0, total: 3 });
    assert.equal(judged.outcome.reason, 'WrongAnswer');
    assert.equal(judged.outcome.phase, 'Failed');
    assert.deepEqual(judged.usage, { cpuTimeMs: 12, wallTimeMs: 1020, memoryPeakMiB: 2 });
  });

  it('should leave the tests after the first failure unjudged when stopOnFirstFailure is set', () => {
    const log = frames([0, 'o', '3'], [0, 'r', report()], [1, 'o', '4'], [1, 'r', report()]);
    const output = captureOutput({ stdout: log }, DEFAULT_LIMITS, statusPolicy, 3);

    const judged = judgedTests(
      completed,
      execution({ ...spec, stopOnFirstFailure: true }).spec,
      output,
      DEFAULT_LIMITS,
    );

    assert.deepEqual(
      judged?.tests.map((test) => test.reason),
      ['WrongAnswer', 'Skipped', 'Skipped'],
    );
    // The second ran (a wrong answer does not stop the launcher), the third did not.
    assert.match(judged?.tests[1]?.message ?? '', /^not judged/);
    assert.match(judged?.tests[2]?.message ?? '', /^not run/);
  });

  it('should read the tests the launcher stopped before as not run when one failed with stopOnFirstFailure', () => {
    const log = frames([0, 'o', '2'], [0, 'r', report()], [1, 'r', report({ exitCode: 3, durationMs: 5 })]);
    const output = captureOutput({ stdout: log }, DEFAULT_LIMITS, statusPolicy, 3);

    const judged = judgedTests(
      completed,
      execution({ ...spec, stopOnFirstFailure: true }).spec,
      output,
      DEFAULT_LIMITS,
    );

    assert.deepEqual(
      judged?.tests.map((test) => [test.reason, test.usage === null]),
      [
        ['Accepted', false],
        ['NonZeroExit', false],
        ['Skipped', true],
      ],
    );
    assert.equal(judged?.tests[2]?.message, 'not run: an earlier test did not pass (stopOnFirstFailure)');
    assert.equal(judged?.outcome.reason, 'NonZeroExit');
    assert.deepEqual(judged?.summary, { passed: 1, failed: 1, skipped: 1, total: 3 });
  });

  it('should keep a compile error and show the tests as not run when the program never ran', () => {
    const compileError = failed('CompileError', 'the compiler exited with code 1');

    const judged = judgedTests(compileError, execution(spec).spec, undefined, DEFAULT_LIMITS);

    assert.equal(judged?.outcome.reason, 'CompileError');
    assert.deepEqual(judged?.summary, { passed: 0, failed: 0, skipped: 3, total: 3 });
  });

  it('should say SystemError for a test whose frames are missing when the launcher finished', () => {
    const output = captureOutput(
      { stdout: frames([0, 'o', '2'], [0, 'r', report()]) },
      DEFAULT_LIMITS,
      statusPolicy,
      3,
    );

    const judged = judgedTests(completed, execution(spec).spec, output, DEFAULT_LIMITS);

    assert.equal(judged?.tests[1]?.reason, 'SystemError');
    assert.equal(judged?.outcome.reason, 'SystemError');
  });
});
