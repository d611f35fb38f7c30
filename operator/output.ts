import { STATUS_BOUNDS } from '../contract/crd.js';
import type { Limits } from '../contract/index.js';
import { CONTAINER } from '../contract/objects.js';
import { parseTestFrames } from '../sandbox/launcher/frames.js';
import type { LaunchReport } from '../sandbox/launcher/report.js';
import type { StatusPolicy } from './config.js';
import type { ExecutionPlan } from './plan.js';

// How a finished pod's output reaches status: the operator reads the container logs once, each
// read bounded by limitBytes, before it deletes the pod. These functions say what to read and
// turn the bytes into the bounded strings status holds.

export type LogStream = 'Stdout' | 'Stderr' | 'All';

export interface LogRead {
  /** Which part of CapturedOutput the bytes go to. */
  part: 'stdout' | 'stderr' | 'compile';
  container: string;
  stream: LogStream;
  /** One byte past the cap, so a read that fills it proves the program exceeded the cap. */
  limitBytes: number;
}

export interface CapturedOutput {
  stdout: string;
  stderr: string;
  /** All of stdout within the output limit, for judging; status keeps the bounded `stdout`. */
  wholeStdout: string;
  compile?: string;
  /** Bytes of the run step's output seen, at most outputBytes + 1 per stream. */
  runBytes: number;
  /** A cap cut something: the program's output limit or the room in status. */
  truncated: boolean;
  /** The program wrote more than its outputBytes. */
  outputLimitExceeded: boolean;
  /** With tests: each test's output and report, read from the launcher's frames. */
  tests?: CapturedTest[];
}

export interface CapturedTest {
  /** Bounded for status. */
  stdout: string;
  stderr: string;
  /** All of stdout, for judging. */
  wholeStdout: string;
  truncated: boolean;
  report?: LaunchReport;
}

/**
 * Bytes of the run log of a tests run: each test's output within its limit in base64, a frame
 * header per 64 KiB chunk of it and its report, with room to spare.
 */
export function testsLogBytes(plan: ExecutionPlan, tests: number): number {
  const perTest =
    Math.ceil((plan.limits.outputBytes * 4) / 3) + 80 * (2 + Math.ceil(plan.limits.outputBytes / 65_536)) + 2048;
  return tests * perTest + 4096;
}

export function logReads(plan: ExecutionPlan, policy: StatusPolicy): LogRead[] {
  const limitBytes = plan.limits.outputBytes + 1;
  const tests = plan.tests?.length;
  // The launcher writes every test's frames to its stdout; stderr has only its own complaints.
  const reads: LogRead[] = tests
    ? [
        {
          part: 'stdout',
          container: CONTAINER.run,
          stream: policy.splitStreams ? 'Stdout' : 'All',
          limitBytes: testsLogBytes(plan, tests),
        },
      ]
    : policy.splitStreams
      ? [
          { part: 'stdout', container: CONTAINER.run, stream: 'Stdout', limitBytes },
          { part: 'stderr', container: CONTAINER.run, stream: 'Stderr', limitBytes },
        ]
      : [{ part: 'stdout', container: CONTAINER.run, stream: 'All', limitBytes }];
  if (plan.compileArgv && plan.compileLimits) {
    reads.push({
      part: 'compile',
      container: CONTAINER.compile,
      stream: 'All',
      limitBytes: plan.compileLimits.outputBytes + 1,
    });
  }
  return reads;
}

export function captureOutput(
  logs: Partial<Record<LogRead['part'], Uint8Array>>,
  limits: Limits,
  policy: StatusPolicy,
  tests?: number,
): CapturedOutput {
  if (tests) return captureTests(logs, tests, policy);
  const stdoutBytes = logs.stdout ?? new Uint8Array();
  const stderrBytes = logs.stderr ?? new Uint8Array();
  const runBytes = stdoutBytes.length + stderrBytes.length;
  const outputLimitExceeded = runBytes > limits.outputBytes;
  // Within the cap, stdout keeps its bytes first, as the embedded backend's shared budget does.
  const stdoutKept = Math.min(stdoutBytes.length, limits.outputBytes);
  const stderrKept = Math.min(stderrBytes.length, limits.outputBytes - stdoutKept);
  const stdout = decodeBounded(stdoutBytes.subarray(0, stdoutKept), policy.outputChars);
  const stderr = decodeBounded(stderrBytes.subarray(0, stderrKept), policy.outputChars);
  const captured: CapturedOutput = {
    stdout: stdout.text,
    stderr: stderr.text,
    wholeStdout: new TextDecoder('utf-8').decode(stdoutBytes.subarray(0, stdoutKept)),
    runBytes,
    truncated: outputLimitExceeded || stdout.cut || stderr.cut,
    outputLimitExceeded,
  };
  if (logs.compile) {
    const compile = decodeBounded(logs.compile, policy.compileOutputChars);
    captured.compile = compile.text;
  }
  return captured;
}

/** A tests run: the frames of the run log, each test's output bounded for status on its own. */
function captureTests(
  logs: Partial<Record<LogRead['part'], Uint8Array>>,
  tests: number,
  policy: StatusPolicy,
): CapturedOutput {
  const frames = parseTestFrames(logs.stdout ?? new Uint8Array(), tests);
  const captured: CapturedOutput = {
    stdout: '',
    stderr: '',
    wholeStdout: '',
    runBytes: 0,
    truncated: false,
    outputLimitExceeded: false,
    tests: frames.tests.map((test) => {
      const stdout = decodeBounded(test.stdout, STATUS_BOUNDS.testOutputChars);
      const stderr = decodeBounded(test.stderr, STATUS_BOUNDS.testOutputChars);
      return {
        stdout: stdout.text,
        stderr: stderr.text,
        wholeStdout: new TextDecoder('utf-8').decode(test.stdout),
        truncated: stdout.cut || stderr.cut || test.report?.limit === 'output',
        ...(test.report ? { report: test.report } : {}),
      };
    }),
  };
  if (logs.compile) captured.compile = decodeBounded(logs.compile, policy.compileOutputChars).text;
  return captured;
}

/**
 * UTF-8 text of at most maxChars UTF-16 units, never ending in half a character. Bytes that are
 * not UTF-8 become U+FFFD, as the embedded backend shows them.
 */
export function decodeBounded(bytes: Uint8Array, maxChars: number): { text: string; cut: boolean } {
  const whole = new TextDecoder('utf-8').decode(trimPartialCharacter(bytes));
  if (whole.length <= maxChars) return { text: whole, cut: false };
  let end = maxChars;
  const last = whole.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return { text: whole.slice(0, end), cut: true };
}

/** A read cut by limitBytes may end inside a character; that tail is dropped, not shown as U+FFFD. */
function trimPartialCharacter(bytes: Uint8Array): Uint8Array {
  let start = bytes.length - 1;
  // Walk back over at most three continuation bytes to the lead byte of the last character.
  while (start >= 0 && bytes.length - start <= 4 && ((bytes[start] ?? 0) & 0xc0) === 0x80) start -= 1;
  if (start < 0) return bytes;
  const lead = bytes[start] ?? 0;
  const expected = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return bytes.length - start < expected ? bytes.subarray(0, start) : bytes;
}
