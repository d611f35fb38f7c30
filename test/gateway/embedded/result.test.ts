import assert from 'node:assert/strict';
import { skippedTest, type TestOutcome } from '../../../contract/index.js';
import { judgedResult } from '../../../gateway/embedded/result.js';

const state = {
  id: 'ex-1',
  runtime: 'c',
  phase: 'Failed' as const,
  createdAt: new Date('2026-01-01T10:00:00Z'),
  startedAt: new Date('2026-01-01T10:00:01Z'),
};

const ran = (
  name: string,
  reason: TestOutcome['reason'],
  exitCode: number | null,
  wallTimeMs: number,
): TestOutcome => ({
  name,
  reason,
  exitCode,
  signal: exitCode === null ? 'SIGKILL' : null,
  message: reason,
  stdout: 'out',
  stderr: '',
  truncated: false,
  usage: { cpuTimeMs: 1, wallTimeMs, memoryPeakMiB: 2 },
});

describe('judgedResult', () => {
  it('should show the deciding test and the totals of all tests when one did not pass', () => {
    const tests = [ran('a', 'Accepted', 0, 10), ran('b', 'TimeLimitExceeded', null, 1000), skippedTest('c')];

    const result = judgedResult(state, tests, { reason: 'TimeLimitExceeded', message: 'b' }, new Date());

    assert.equal(result.exitCode, null);
    assert.equal(result.signal, 'SIGKILL');
    assert.equal(result.durationMs, 1010);
    assert.deepEqual(result.usage, { cpuTimeMs: 2, wallTimeMs: 1010, memoryPeakMiB: 2 });
    assert.deepEqual(result.summary, { passed: 1, failed: 1, skipped: 1, total: 3 });
    assert.equal(result.stdout, '');
  });
});
