import assert from 'node:assert/strict';
import {
  compileVerdict,
  DEFAULT_COMPILE_LIMITS,
  DEFAULT_LIMITS,
  type Limits,
  type Reason,
  runVerdict,
  type StepReport,
} from '../../contract/index.js';

const clean: StepReport = { cancelled: false, startError: null, limitHit: null, exitCode: 0, signal: null };
const limits: Limits = {
  ...DEFAULT_LIMITS,
  wallTimeMs: 2000,
  cpuTimeMs: 1000,
  memoryMiB: 256,
  outputBytes: 4096,
  pids: 64,
};
const killed = { exitCode: null, signal: 'SIGKILL' };

describe('runVerdict', () => {
  const table: [string, Partial<StepReport>, Reason, string][] = [
    ['a clean exit', {}, 'Completed', 'exited with code 0'],
    ['a non-zero exit', { exitCode: 3 }, 'NonZeroExit', 'exited with code 3'],
    ['a segfault', { exitCode: null, signal: 'SIGSEGV' }, 'Signaled', 'killed by SIGSEGV'],
    ['the wall limit', { ...killed, limitHit: 'wall' }, 'TimeLimitExceeded', 'exceeded the wall time limit of 2000 ms'],
    ['the CPU limit', { ...killed, limitHit: 'cpu' }, 'TimeLimitExceeded', 'exceeded the CPU time limit of 1000 ms'],
    [
      'the CPU limit with the time used',
      { ...killed, limitHit: 'cpu', cpuMs: 1020 },
      'TimeLimitExceeded',
      'exceeded the CPU time limit of 1000 ms (1020 ms when stopped)',
    ],
    [
      'RLIMIT_CPU',
      { exitCode: null, signal: 'SIGXCPU' },
      'TimeLimitExceeded',
      'exceeded the CPU time limit of 1000 ms',
    ],
    [
      'the memory limit',
      { ...killed, limitHit: 'memory' },
      'MemoryLimitExceeded',
      'exceeded the memory limit of 256 MiB',
    ],
    [
      'the output cap',
      { ...killed, limitHit: 'output' },
      'OutputLimitExceeded',
      'exceeded the output limit of 4096 bytes',
    ],
    ['a cancel', { ...killed, cancelled: true, limitHit: 'wall' }, 'Cancelled', 'cancelled'],
    [
      'a start failure',
      { exitCode: null, startError: 'exec: "x": not found' },
      'SystemError',
      `the program could not start: exec: "x": not found; check the Runtime's run argv`,
    ],
    [
      'a fork bomb',
      { exitCode: 1, pidsLimitReached: true },
      'NonZeroExit',
      'exited with code 1 (creating processes or threads hit the limit of 64)',
    ],
    ['no exit status', { exitCode: null }, 'SystemError', 'the program ended without an exit status'],
  ];
  for (const [what, report, reason, message] of table) {
    it(`should give ${reason} when the step ended by ${what}`, () => {
      assert.deepEqual(runVerdict({ ...clean, ...report }, limits), { reason, message });
    });
  }

  it('should name the limit without a value when the limits are not known', () => {
    assert.deepEqual(runVerdict({ ...clean, ...killed, limitHit: 'wall' }, undefined), {
      reason: 'TimeLimitExceeded',
      message: 'exceeded its wall time limit',
    });
  });
});

describe('compileVerdict', () => {
  it('should let the run go ahead when the compiler exits 0', () => {
    assert.equal(compileVerdict(clean, DEFAULT_COMPILE_LIMITS), null);
  });

  const table: [string, Partial<StepReport>, Reason, string][] = [
    ['a compiler error', { exitCode: 1 }, 'CompileError', 'the compiler exited with code 1'],
    ['a crash', { exitCode: null, signal: 'SIGSEGV' }, 'CompileError', 'the compiler was killed by SIGSEGV'],
    [
      'a compile timeout',
      { ...killed, limitHit: 'wall' },
      'CompileError',
      'the compiler exceeded the wall time limit of 2000 ms',
    ],
    [
      'a compiler OOM',
      { ...killed, limitHit: 'memory' },
      'CompileError',
      'the compiler exceeded the memory limit of 256 MiB',
    ],
    [
      'a flood of diagnostics',
      { ...killed, limitHit: 'output' },
      'CompileError',
      'the compiler exceeded the output limit of 4096 bytes',
    ],
    ['a cancel', { ...killed, cancelled: true }, 'Cancelled', 'cancelled while compiling'],
    [
      'a start failure',
      { exitCode: null, startError: 'no such file' },
      'SystemError',
      `the compiler could not start: no such file; check the Runtime's compile argv`,
    ],
  ];
  for (const [what, report, reason, message] of table) {
    it(`should give ${reason} when compilation ended by ${what}`, () => {
      assert.deepEqual(compileVerdict({ ...clean, ...report }, limits), { reason, message });
    });
  }
});
