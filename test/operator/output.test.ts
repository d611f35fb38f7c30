import assert from 'node:assert/strict';
import { captureOutput, decodeBounded, logReads } from '../../operator/output.js';
import { planExecution } from '../../operator/plan.js';
import { cRuntime, execution, policy, runtime } from './fixtures.js';

const limits = { wallTimeMs: 1000, cpuTimeMs: 1000, memoryMiB: 64, pids: 8, outputBytes: 10, diskMiB: 8 };
const bytes = (text: string) => new TextEncoder().encode(text);

describe('captureOutput', () => {
  const statusPolicy = { ...policy().status, outputChars: 6 };
  const cases = [
    {
      name: 'short output',
      stdout: 'hi\n',
      stderr: 'e',
      want: { stdout: 'hi\n', stderr: 'e', truncated: false, outputLimitExceeded: false },
    },
    {
      name: 'output longer than status room',
      stdout: 'abcdefgh',
      stderr: '',
      want: { stdout: 'abcdef', stderr: '', truncated: true, outputLimitExceeded: false },
    },
    {
      name: 'output past outputBytes (11 bytes read)',
      stdout: 'abcdefghijk',
      stderr: '',
      want: { stdout: 'abcdef', stderr: '', truncated: true, outputLimitExceeded: true },
    },
    {
      name: 'stdout and stderr sharing the cap',
      stdout: 'aaaaaa',
      stderr: 'bbbbbb',
      want: { stdout: 'aaaaaa', stderr: 'bbbb', truncated: true, outputLimitExceeded: true },
    },
  ];
  for (const { name, stdout, stderr, want } of cases) {
    it(`should bound status text and flag truncation with ${name}`, () => {
      const captured = captureOutput({ stdout: bytes(stdout), stderr: bytes(stderr) }, limits, statusPolicy);
      assert.deepEqual(
        {
          stdout: captured.stdout,
          stderr: captured.stderr,
          truncated: captured.truncated,
          outputLimitExceeded: captured.outputLimitExceeded,
        },
        want,
      );
    });
  }
});

describe('decodeBounded', () => {
  it('should drop a character cut in half by limitBytes instead of showing U+FFFD', () => {
    const cut = bytes('aé').subarray(0, 2);
    assert.deepEqual(decodeBounded(cut, 10), { text: 'a', cut: false });
  });

  it('should not split a surrogate pair at the character bound', () => {
    assert.deepEqual(decodeBounded(bytes('a😀b'), 2), { text: 'a', cut: true });
  });

  it('should show invalid UTF-8 as U+FFFD', () => {
    assert.equal(decodeBounded(new Uint8Array([0x61, 0xff, 0x62]), 10).text, 'a\ufffdb');
  });
});

describe('logReads', () => {
  it('should read stdout and stderr apart, one byte past the cap, and the compiler output when compiled', () => {
    const result = planExecution(execution({ runtime: 'c', limits: { outputBytes: 100 } }), cRuntime(), policy());
    assert.ok(result.ok);
    assert.deepEqual(logReads(result.plan, policy().status), [
      { part: 'stdout', container: 'run', stream: 'Stdout', limitBytes: 101 },
      { part: 'stderr', container: 'run', stream: 'Stderr', limitBytes: 101 },
      { part: 'compile', container: 'compile', stream: 'All', limitBytes: 65537 },
    ]);
  });

  it('should read one interleaved stream when the cluster cannot split them', () => {
    const result = planExecution(execution(), runtime(), policy());
    assert.ok(result.ok);
    const reads = logReads(result.plan, policy({ status: { splitStreams: false } }).status);
    assert.deepEqual(
      reads.map((read) => read.stream),
      ['All'],
    );
  });
});
