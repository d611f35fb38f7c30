import assert from 'node:assert/strict';
import { captureOutput, decodeBounded, logReads } from '../../operator/output.js';
import { planExecution } from '../../operator/plan.js';
import { captureWarmOutput, frameBytes, warmLogReads, wholeOverAttach } from '../../operator/warm-output.js';
import { cRuntime, execution, LAUNCH_REPORT, policy, runtime } from './fixtures.js';

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

describe('warm output of judged tests', () => {
  const frame = (label: string | number, kind: 'o' | 'e' | 'r', text: string) => {
    const payload = Buffer.from(text).toString('base64');
    return `\x1eSP ${label} ${kind} ${payload.length}\n${payload}\n`;
  };
  const report = (outputBytes: number) => JSON.stringify({ ...LAUNCH_REPORT, outputBytes });
  const tests =
    frame(0, 'o', 'one\n') +
    frame(0, 'e', 'warn\n') +
    frame(0, 'r', report(9)) +
    frame(1, 'o', 'two\n') +
    frame(1, 'r', report(4));
  const compile = frame('c', 'o', 'compiled\n') + frame('c', 'r', report(9));
  const warmLog = `\x1eSP c a 0\n\n${compile}\x1eSP c s 0\n\n${tests}${frame('n0nce', 'r', report(13))}`;
  const statusPolicy = policy().status;

  it("should read the run's part of a warm log as the tests' frames, as a cold pod's log is read", () => {
    const warm = captureWarmOutput({ stdout: bytes(warmLog) }, limits, statusPolicy, 'n0nce', 2);
    const cold = captureOutput({ stdout: bytes(tests), compile: bytes('compiled\n') }, limits, statusPolicy, 2);
    assert.deepEqual(warm.output, cold);
    assert.equal(warm.output.tests?.[1]?.stdout, 'two\n');
    assert.equal(warm.report?.outputBytes, 13);
    assert.equal(warm.forwarded, 13, 'every test output byte, for wholeOverAttach');
    assert.equal(wholeOverAttach(warm), true);
  });

  it('should not take a warm tests log as whole when a frame is cut or a test is missing', () => {
    const cut = warmLog.replace(frame(1, 'o', 'two\n'), frame(1, 'o', 'two\n').slice(0, 12));
    assert.equal(wholeOverAttach(captureWarmOutput({ stdout: bytes(cut) }, limits, statusPolicy, 'n0nce', 2)), false);
    const lost = warmLog.replace(frame(1, 'o', 'two\n') + frame(1, 'r', report(4)), '');
    assert.equal(wholeOverAttach(captureWarmOutput({ stdout: bytes(lost) }, limits, statusPolicy, 'n0nce', 2)), false);
  });

  it("should read a warm tests run's stdout alone, with room for every test's frames", () => {
    const result = planExecution(
      execution({
        tests: [
          { stdin: '1', expectedOutput: '1' },
          { stdin: '2', expectedOutput: '2' },
        ],
      }),
      runtime(),
      policy(),
    );
    assert.ok(result.ok);
    const [cold] = logReads(result.plan, statusPolicy);
    const reads = warmLogReads(result.plan, statusPolicy);
    assert.equal(reads.length, 1);
    assert.equal(reads[0]?.stream, cold?.stream);
    assert.equal(reads[0]?.limitBytes, (cold?.limitBytes ?? 0) + frameBytes(result.plan));
  });
});
