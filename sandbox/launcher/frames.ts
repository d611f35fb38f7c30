import { type LaunchReport, parseLaunchReport } from './report.js';

// The output of sandpod-launch --tests (sandbox/launcher/sandpod-launch.c, write_frame): frames
// "\x1eSP <test> <o|e|r> <length>\n" and that many bytes, on the run container's stdout.

export interface TestFrames {
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** The test's report; absent when the launcher ended before writing it. */
  report?: LaunchReport;
}

const HEADER = /^\x1eSP (\d+) ([oer]) (\d+)\n/;
const MAX_HEADER = 64;

/**
 * The tests' output and reports, in test order; `intact` is false when the bytes stop being frames
 * (a log cut at its read limit, or something else on the stream), and what came before stands.
 */
export function parseTestFrames(bytes: Uint8Array, tests: number): { tests: TestFrames[]; intact: boolean } {
  const chunks = Array.from({ length: tests }, () => ({ stdout: [] as Uint8Array[], stderr: [] as Uint8Array[] }));
  const reports: (LaunchReport | undefined)[] = Array.from({ length: tests }, () => undefined);
  const text = new TextDecoder('latin1');
  let at = 0;
  let intact = true;
  while (at < bytes.length) {
    const header = HEADER.exec(text.decode(bytes.subarray(at, at + MAX_HEADER)));
    const index = Number(header?.[1]);
    const length = Number(header?.[3]);
    if (!header || index >= tests || at + header[0].length + length > bytes.length) {
      intact = false;
      break;
    }
    const payload = bytes.subarray(at + header[0].length, at + header[0].length + length);
    const kind = header[2];
    if (kind === 'o') chunks[index]?.stdout.push(payload);
    else if (kind === 'e') chunks[index]?.stderr.push(payload);
    else reports[index] = parseLaunchReport(new TextDecoder().decode(payload));
    at += header[0].length + length;
  }
  return {
    intact,
    tests: chunks.map((chunk, index) => ({
      stdout: concat(chunk.stdout),
      stderr: concat(chunk.stderr),
      ...(reports[index] ? { report: reports[index] } : {}),
    })),
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const whole = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    whole.set(part, offset);
    offset += part.length;
  }
  return whole;
}
