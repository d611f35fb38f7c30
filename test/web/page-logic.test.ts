import assert from 'node:assert/strict';
import { DEFAULT_LIMITS } from '../../contract/limits.js';
import type { ExecutionResult } from '../../contract/outcome.js';
import { LineDiscipline } from '../../web/src/lineDiscipline.js';
import { describeResult } from '../../web/src/outcomeText.js';
import { formatBytes, formatDuration, formatTimeLimit } from '../../web/src/units.js';

// The web page's pure logic, without a browser: the terminal's line editing and the words of the
// result bar.

function result(overrides: Partial<ExecutionResult>): ExecutionResult {
  return {
    id: 'ex-1',
    runtime: 'python',
    phase: 'Failed',
    reason: 'NonZeroExit',
    exitCode: 1,
    signal: null,
    message: '',
    createdAt: '2026-01-01T00:00:00Z',
    startedAt: '2026-01-01T00:00:00Z',
    finishedAt: '2026-01-01T00:00:01Z',
    durationMs: 1000,
    stdout: '',
    stderr: '',
    truncated: false,
    ...overrides,
  };
}

describe('LineDiscipline (web page logic)', () => {
  it('should send a whole line with its newline when Enter is pressed', () => {
    const discipline = new LineDiscipline();

    const typing = discipline.input('Ada');
    const enter = discipline.input('\r');

    assert.deepEqual(typing, { echo: 'Ada', send: [], endOfInput: false, interrupt: false });
    assert.deepEqual(enter.send, ['Ada\n']);
    assert.equal(enter.echo, '\r\n');
  });

  it('should erase the last character on screen and in the line when Backspace is pressed', () => {
    const discipline = new LineDiscipline();
    discipline.input('Adq');

    const effect = discipline.input('\x7f');

    assert.equal(effect.echo, '\b \b');
    assert.equal(discipline.pending, 'Ad');
  });

  it('should erase nothing when Backspace is pressed on an empty line', () => {
    assert.equal(new LineDiscipline().input('\x7f').echo, '');
  });

  it('should erase a wide character over two cells when Backspace follows one', () => {
    const discipline = new LineDiscipline();
    discipline.input('名');

    assert.equal(discipline.input('\x7f').echo, '\b\b  \b\b');
  });

  it('should split pasted text into lines when it holds CR LF pairs', () => {
    const effect = new LineDiscipline().input('1 2\r\n3 4\r\n5');

    assert.deepEqual(effect.send, ['1 2\n', '3 4\n']);
  });

  it('should end the input when Ctrl+D is pressed on an empty line', () => {
    const effect = new LineDiscipline().input('\x04');

    assert.equal(effect.endOfInput, true);
    assert.deepEqual(effect.send, []);
  });

  it('should send the partial line without a newline when Ctrl+D is pressed after typing', () => {
    const discipline = new LineDiscipline();
    discipline.input('abc');

    const effect = discipline.input('\x04');

    assert.deepEqual(effect.send, ['abc']);
    assert.equal(effect.endOfInput, false);
  });

  it('should ask to stop the program when Ctrl+C is pressed', () => {
    const effect = new LineDiscipline().input('abc\x03def');

    assert.equal(effect.interrupt, true);
    assert.deepEqual(effect.send, []);
  });

  it('should ignore arrow keys when they arrive as escape sequences', () => {
    const effect = new LineDiscipline().input('a\x1b[Db\x1bOA');

    assert.equal(effect.echo, 'ab');
  });

  it('should erase the whole line when Ctrl+U is pressed', () => {
    const discipline = new LineDiscipline();
    discipline.input('hello world');

    assert.equal(discipline.input('\x15').echo, '\b \b'.repeat(11));
    assert.equal(discipline.pending, '');
  });
});

describe('describeResult (web page logic)', () => {
  it('should name the elapsed time when the time limit was exceeded', () => {
    const text = describeResult(
      result({ reason: 'TimeLimitExceeded', exitCode: null, signal: 'SIGKILL', durationMs: 2003 }),
      DEFAULT_LIMITS,
    );

    assert.equal(text.headline, 'Time limit exceeded after 2.0 s');
  });

  it('should give the exit code when the program exits with a non-zero code', () => {
    const text = describeResult(result({ reason: 'NonZeroExit', exitCode: 1 }), DEFAULT_LIMITS);

    assert.equal(text.headline, 'Exited with code 1');
    assert.deepEqual(text.facts, ['Run time 1.0 s', 'Exit code 1']);
  });

  it('should name the signal when the program is killed by one', () => {
    const text = describeResult(result({ reason: 'Signaled', exitCode: null, signal: 'SIGSEGV' }), DEFAULT_LIMITS);

    assert.equal(text.headline, 'Killed by SIGSEGV');
  });

  it('should say compilation failed with the compiler facts when the compile step fails', () => {
    const text = describeResult(
      result({
        reason: 'CompileError',
        durationMs: null,
        exitCode: null,
        compile: { exitCode: 1, durationMs: 52, output: 'error' },
      }),
      DEFAULT_LIMITS,
    );

    assert.equal(text.headline, 'Compilation failed');
    assert.deepEqual(text.facts, ['Compile time 52 ms', 'Compiler exit code 1']);
  });

  it('should add a truncation note with the limit when the output was cut', () => {
    const text = describeResult(result({ reason: 'Completed', phase: 'Succeeded', exitCode: 0, truncated: true }), {
      ...DEFAULT_LIMITS,
      outputBytes: 4096,
    });

    assert.deepEqual(text.notes, ['Output truncated: the program wrote more than 4 KiB.']);
  });

  it('should show the platform message when the sandbox failed', () => {
    const text = describeResult(result({ reason: 'SystemError', message: 'runc failed' }), DEFAULT_LIMITS);

    assert.equal(text.headline, 'The sandbox failed');
    assert.deepEqual(text.notes, ['runc failed']);
  });
});

describe('units (web page logic)', () => {
  it('should format durations and sizes the way people read them', () => {
    assert.deepEqual([154, 2003, 12_345, 125_000].map(formatDuration), ['154 ms', '2.0 s', '12.3 s', '2 min 5 s']);
    assert.deepEqual([500, 5000, 2500, 120_000].map(formatTimeLimit), ['500 ms', '5 s', '2.5 s', '2 min']);
    assert.deepEqual([512, 4096, 1024 * 1024, 1024 ** 3].map(formatBytes), ['512 B', '4 KiB', '1 MiB', '1 GiB']);
  });
});
