import assert from 'node:assert/strict';
import { EXIT, exitCodeFor, exitCodeForError } from '../../cli/exit-codes.js';
import { guessRuntime } from '../../cli/guess-runtime.js';
import { parseLimits, UsageError } from '../../cli/run-request.js';
import type { ExecutionResult } from '../../contract/index.js';

const RUNTIMES = [
  { name: 'python', version: '3', aliases: ['python3', 'py'], compiled: false, fileName: 'main.py' },
  { name: 'cpp', version: '14', aliases: ['c++'], compiled: true, fileName: 'main.cpp' },
  { name: 'lua', version: '5.4', aliases: [], compiled: false, fileName: 'main.lua' },
];

const result = (fields: Partial<ExecutionResult>): ExecutionResult => ({
  id: 'x',
  runtime: 'python',
  phase: 'Failed',
  reason: null,
  exitCode: null,
  signal: null,
  message: '',
  createdAt: '',
  startedAt: null,
  finishedAt: null,
  durationMs: null,
  stdout: '',
  stderr: '',
  truncated: false,
  ...fields,
});

describe('sandpod command line', () => {
  describe('guessRuntime', () => {
    const cases: [string, string][] = [
      ['hello.py', 'python'],
      ['dir/Main.CC', 'cpp'],
      ['game.lua', 'lua'],
    ];
    for (const [file, runtime] of cases) {
      it(`should pick ${runtime} when the file is ${file}`, () => {
        assert.deepEqual(guessRuntime(file, RUNTIMES), { runtime });
      });
    }

    it('should say which runtimes there are when no runtime runs the extension', () => {
      const guess = guessRuntime('Main.java', RUNTIMES);

      assert.ok('problem' in guess);
      assert.match(guess.problem, /\.java.*python, cpp, lua.*--runtime/);
    });
  });

  describe('parseLimits', () => {
    it('should read each NAME=VALUE when the names are limits', () => {
      assert.deepEqual(parseLimits(['memoryMiB=128', 'wallTimeMs=2000']), { memoryMiB: 128, wallTimeMs: 2000 });
    });

    for (const flag of ['memory=1', 'memoryMiB=1.5', 'memoryMiB', 'memoryMiB=-1']) {
      it(`should refuse ${flag} with a usage error`, () => {
        assert.throws(() => parseLimits([flag]), UsageError);
      });
    }
  });

  describe('exitCodeFor', () => {
    const cases: [Partial<ExecutionResult>, number][] = [
      [{ reason: 'Completed', exitCode: 0 }, 0],
      [{ reason: 'NonZeroExit', exitCode: 42 }, 42],
      [{ reason: 'Signaled', signal: 'SIGSEGV' }, 139],
      [{ reason: 'CompileError' }, EXIT.compileError],
      [{ reason: 'TimeLimitExceeded', signal: 'SIGKILL' }, EXIT.timeLimit],
      [{ reason: 'MemoryLimitExceeded' }, EXIT.memoryLimit],
      [{ reason: 'OutputLimitExceeded' }, EXIT.outputLimit],
      [{ reason: 'Cancelled' }, 130],
      [{ reason: 'SystemError' }, EXIT.systemError],
    ];
    for (const [fields, code] of cases) {
      it(`should exit ${code} when the reason is ${fields.reason}`, () => {
        assert.equal(exitCodeFor(result(fields)), code);
      });
    }
  });

  describe('exitCodeForError', () => {
    const cases: [string, number, number][] = [
      ['invalid', 400, EXIT.refused],
      ['unauthorized', 401, EXIT.unauthorized],
      ['too_many_requests', 429, EXIT.unavailable],
      ['at_capacity', 503, EXIT.unavailable],
      ['unreachable', 0, EXIT.unavailable],
      ['invalid', 0, EXIT.refused],
      ['internal', 500, EXIT.systemError],
    ];
    for (const [code, status, exit] of cases) {
      it(`should exit ${exit} when the error is ${code} (${status})`, () => {
        assert.equal(exitCodeForError(code, status), exit);
      });
    }
  });
});
