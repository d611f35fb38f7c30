import assert from 'node:assert/strict';
import { judgeStep, skippedTest, summarize, type TestOutcome, testsVerdict, totalUsage } from '../../contract/index.js';

const test = (name: string, reason: TestOutcome['reason'], usage: TestOutcome['usage'] = null): TestOutcome => ({
  name,
  reason,
  exitCode: reason === 'Accepted' || reason === 'WrongAnswer' ? 0 : null,
  signal: null,
  message: `${name} message`,
  stdout: '',
  stderr: '',
  truncated: false,
  usage,
});

describe('judgeStep', () => {
  const completed = { reason: 'Completed', message: 'exited with code 0' } as const;
  it('should keep Completed when no expected output is given', () => {
    assert.deepEqual(judgeStep(completed, 'x', undefined, undefined), completed);
  });
  it('should give Accepted when a clean exit matches', () => {
    assert.equal(judgeStep(completed, '42\n', '42', undefined).reason, 'Accepted');
  });
  it('should give WrongAnswer with the difference when a clean exit does not match', () => {
    const verdict = judgeStep(completed, '41\n', '42', undefined);
    assert.equal(verdict.reason, 'WrongAnswer');
    assert.match(verdict.message, /line 1: expected "42", got "41"/);
  });
  it('should keep a limit verdict even when the output would match', () => {
    const tle = { reason: 'TimeLimitExceeded', message: 'wall' } as const;
    assert.deepEqual(judgeStep(tle, '42', '42', undefined), tle);
  });
});

describe('testsVerdict', () => {
  it('should be Accepted when every test passed', () => {
    assert.equal(testsVerdict([test('a', 'Accepted'), test('b', 'Completed')]).reason, 'Accepted');
  });
  it('should take the reason of the first test that did not pass when others failed later', () => {
    const verdict = testsVerdict([
      test('a', 'Accepted'),
      test('b', 'TimeLimitExceeded'),
      test('c', 'WrongAnswer'),
      skippedTest('d'),
    ]);
    assert.equal(verdict.reason, 'TimeLimitExceeded');
    assert.match(verdict.message, /^1\/4 tests passed; b: b message$/);
  });
});

describe('summarize', () => {
  it('should count passed, failed and skipped tests when all three occur', () => {
    assert.deepEqual(summarize([test('a', 'Accepted'), test('b', 'WrongAnswer'), skippedTest('c'), skippedTest('d')]), {
      passed: 1,
      failed: 1,
      skipped: 2,
      total: 4,
    });
  });
});

describe('totalUsage', () => {
  it('should add times and take the highest memory peak when tests ran', () => {
    const usage = totalUsage([
      test('a', 'Accepted', { cpuTimeMs: 10, wallTimeMs: 20, memoryPeakMiB: 3 }),
      skippedTest('b'),
      test('c', 'Accepted', { cpuTimeMs: 5, wallTimeMs: 7, memoryPeakMiB: 9 }),
    ]);
    assert.deepEqual(usage, { cpuTimeMs: 15, wallTimeMs: 27, memoryPeakMiB: 9 });
  });
  it('should be null when no test ran', () => {
    assert.equal(totalUsage([skippedTest('a')]), null);
  });
});
