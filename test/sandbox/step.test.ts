import assert from 'node:assert/strict';
import { type StepOutcome, stepReport } from '../../sandbox/step.js';

const clean: StepOutcome = {
  exitCode: 0,
  signal: null,
  wallMs: 10,
  cpuMs: 5,
  memoryPeakBytes: 0,
  limitHit: null,
  cancelled: false,
  oomKilled: false,
  pidsLimitReached: false,
  systemError: null,
};

describe('stepReport', () => {
  it('should count an OOM kill of the program as the memory limit', () => {
    const report = stepReport({ ...clean, exitCode: null, signal: 'SIGKILL', oomKilled: true });
    assert.equal(report.limitHit, 'memory');
  });

  it('should keep the limit the step hit first when the kernel also killed for memory', () => {
    assert.equal(stepReport({ ...clean, exitCode: null, limitHit: 'output', oomKilled: true }).limitHit, 'output');
  });

  it('should not blame memory when the program exited 0', () => {
    assert.equal(stepReport({ ...clean, oomKilled: true }).limitHit, null);
  });

  it('should pass the runtime failure, the CPU used and the pids note on', () => {
    const report = stepReport({
      ...clean,
      exitCode: null,
      systemError: 'no such file',
      pidsLimitReached: true,
      cpuMs: 7,
    });
    assert.deepEqual(report, {
      cancelled: false,
      startError: 'no such file',
      limitHit: null,
      exitCode: null,
      signal: null,
      cpuMs: 7,
      pidsLimitReached: true,
    });
  });
});
