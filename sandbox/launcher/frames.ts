import { type LaunchReport, parseLaunchReport } from './report.js';

// The output of sandpod-launch --tests (sandbox/launcher/sandpod-launch.c, write_frame): frames
// "\x1eSP <test> <o|e|r> <length>\n", then <length> bytes of base64 and "\n", on the run
// container's stdout.

export interface TestFrames {
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** The test's report; absent when the launcher ended before writing it. */
  report?: LaunchReport;
}

/** After the record separator (0x1e) that starts every frame. */
const HEADER = /^SP (\d+) ([oer]) (\d+)\n/;
const RECORD_SEPARATOR = 0x1e;
const NEWLINE = 0x0a;
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
    const header =
      bytes[at] === RECORD_SEPARATOR ? HEADER.exec(text.decode(bytes.subarray(at + 1, at + MAX_HEADER))) : null;
    const index = Number(header?.[1]);
    const length = Number(header?.[3]);
    const headerLength = 1 + (header?.[0].length ?? 0);
    const end = at + headerLength + length;
    if (!header || index >= tests || end >= bytes.length || bytes[end] !== NEWLINE) {
      intact = false;
      break;
    }
    const payload = Buffer.from(text.decode(bytes.subarray(at + headerLength, end)), 'base64');
    const kind = header[2];
    if (kind === 'o') chunks[index]?.stdout.push(payload);
    else if (kind === 'e') chunks[index]?.stderr.push(payload);
    else reports[index] = parseLaunchReport(new TextDecoder().decode(payload));
    at = end + 1;
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
