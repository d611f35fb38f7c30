import assert from 'node:assert/strict';
import { DEFAULT_COMPILE_LIMITS, DEFAULT_LIMITS, type Reason } from '../../../contract/index.js';
import { compileVerdict, runVerdict } from '../../../gateway/embedded/verdict.js';
import { type StepOutcome, splitExitStatus } from '../../../sandbox/step.js';

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

describe('runVerdict', () => {
  const table: [string, Partial<StepOutcome>, Reason, RegExp][] = [
    ['a clean exit', {}, 'Completed', /code 0/],
    ['a non-zero exit', { exitCode: 3 }, 'NonZeroExit', /code 3/],
    ['a segfault', { exitCode: null, signal: 'SIGSEGV' }, 'Signaled', /SIGSEGV/],
    ['the wall limit', { exitCode: null, signal: 'SIGKILL', limitHit: 'wall' }, 'TimeLimitExceeded', /wall time/],
    ['the CPU limit', { exitCode: null, signal: 'SIGKILL', limitHit: 'cpu' }, 'TimeLimitExceeded', /CPU time/],
    ['the output cap', { exitCode: null, signal: 'SIGKILL', limitHit: 'output' }, 'OutputLimitExceeded', /output/],
    ['an OOM kill', { exitCode: null, signal: 'SIGKILL', oomKilled: true }, 'MemoryLimitExceeded', /memory/],
    ['a cancel', { exitCode: null, signal: 'SIGKILL', cancelled: true, limitHit: 'wall' }, 'Cancelled', /cancel/],
    ['a runtime failure', { exitCode: 1, systemError: 'no such file' }, 'SystemError', /no such file/],
    ['a fork bomb', { exitCode: 1, pidsLimitReached: true }, 'NonZeroExit', /hit the limit of 64/],
    ['an output cap hit before a timeout', { limitHit: 'output', oomKilled: true }, 'OutputLimitExceeded', /output/],
  ];
  for (const [what, outcome, reason, message] of table) {
    it(`should give ${reason} when the step ended by ${what}`, () => {
      const verdict = runVerdict({ ...clean, ...outcome }, DEFAULT_LIMITS);
      assert.equal(verdict.reason, reason);
      assert.match(verdict.message, message);
    });
  }
});

describe('compileVerdict', () => {
  it('should let the run go ahead when the compiler exits 0', () => {
    assert.equal(compileVerdict(clean, DEFAULT_COMPILE_LIMITS), null);
  });

  const table: [string, Partial<StepOutcome>, Reason, RegExp][] = [
    ['a compiler error', { exitCode: 1 }, 'CompileError', /exit code 1/],
    ['a compile timeout', { exitCode: null, signal: 'SIGKILL', limitHit: 'wall' }, 'CompileError', /time limit/],
    ['a compiler OOM', { exitCode: null, signal: 'SIGKILL', oomKilled: true }, 'CompileError', /memory/],
    ['a flood of diagnostics', { exitCode: null, signal: 'SIGKILL', limitHit: 'output' }, 'CompileError', /more than/],
    ['a cancel', { exitCode: null, signal: 'SIGKILL', cancelled: true }, 'Cancelled', /compiling/],
  ];
  for (const [what, outcome, reason, message] of table) {
    it(`should give ${reason} when compilation ended by ${what}`, () => {
      const verdict = compileVerdict({ ...clean, ...outcome }, DEFAULT_COMPILE_LIMITS);
      assert.equal(verdict?.reason, reason);
      assert.match(verdict?.message ?? '', message);
    });
  }
});

describe('splitExitStatus', () => {
  it('should read 128+n as signal n, as shells and the kubelet do', () => {
    assert.deepEqual(splitExitStatus(137), { exitCode: null, signal: 'SIGKILL' });
    assert.deepEqual(splitExitStatus(139), { exitCode: null, signal: 'SIGSEGV' });
  });

  it('should keep plain exit codes when they name no signal', () => {
    assert.deepEqual(splitExitStatus(0), { exitCode: 0, signal: null });
    assert.deepEqual(splitExitStatus(1), { exitCode: 1, signal: null });
    assert.deepEqual(splitExitStatus(200), { exitCode: 200, signal: null });
  });
});
