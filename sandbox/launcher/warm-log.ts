import { type LaunchReport, parseLaunchReport } from './report.js';

// A warm pod's stdout log (sandpod-launch --bundle 1): the compile step's output and report as
// frames of test "c" ("\x1eSP c <o|e|r> <length>\n" + base64 + "\n") after the empty frame "c a"
// (the bundle arrived), then the empty frame
// "\x1eSP c s 0\n\n" that the launcher writes right before the run starts, then the run's own
// stdout as it is. Nothing of the program's comes before that frame, so nothing it prints can
// pass for one.

export interface WarmLog {
  compile?: { stdout: Uint8Array; stderr: Uint8Array; report?: LaunchReport };
  /** The launcher said it has its whole bundle (the frame "c a"). */
  accepted: boolean;
  /** The launcher got to the run step. */
  runStarted: boolean;
  /** Bytes of the log before the run's own output. */
  prefixLength: number;
}

const HEADER = /^SP c ([aoers]) (\d+)\n/;
const RECORD_SEPARATOR = 0x1e;
const NEWLINE = 0x0a;
const MAX_HEADER = 32;

/** The frames at the start of a warm pod's stdout log; `prefixLength` is where the run's own begins. */
export function parseWarmLog(bytes: Uint8Array): WarmLog {
  const text = new TextDecoder('latin1');
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let report: LaunchReport | undefined;
  let compiled = false;
  let accepted = false;
  let at = 0;
  while (at < bytes.length && bytes[at] === RECORD_SEPARATOR) {
    const header = HEADER.exec(text.decode(bytes.subarray(at + 1, at + 1 + MAX_HEADER)));
    if (!header) break;
    const headerLength = 1 + header[0].length;
    const end = at + headerLength + Number(header[2]);
    if (end >= bytes.length || bytes[end] !== NEWLINE) break;
    const kind = header[1];
    if (kind === 's') {
      return {
        ...(compiled
          ? { compile: { stdout: concat(stdout), stderr: concat(stderr), ...(report ? { report } : {}) } }
          : {}),
        accepted,
        runStarted: true,
        prefixLength: end + 1,
      };
    }
    if (kind === 'a') {
      accepted = true;
      at = end + 1;
      continue;
    }
    compiled = true;
    const payload = Buffer.from(text.decode(bytes.subarray(at + headerLength, end)), 'base64');
    if (kind === 'o') stdout.push(payload);
    else if (kind === 'e') stderr.push(payload);
    else report = parseLaunchReport(payload.toString('utf8'));
    at = end + 1;
  }
  return {
    ...(compiled ? { compile: { stdout: concat(stdout), stderr: concat(stderr), ...(report ? { report } : {}) } } : {}),
    accepted,
    runStarted: false,
    prefixLength: at,
  };
}

function concat(parts: Buffer[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/**
 * The launcher's last report, framed under the bundle's nonce at the very end of stdout, and the
 * output before it. Only the launcher knows the nonce (the program never sees the bundle), so a
 * frame with it is the launcher's; without one at the end, `report` is undefined and the output
 * is all of `bytes`.
 */
export function splitEndFrame(bytes: Uint8Array, nonce: string): { output: Uint8Array; report?: LaunchReport } {
  const header = Buffer.from(`\x1eSP ${nonce} r `, 'latin1');
  const at = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).lastIndexOf(header);
  if (at < 0 || nonce === '') return { output: bytes };
  const rest = new TextDecoder('latin1').decode(bytes.subarray(at + header.length));
  const frame = /^(\d+)\n([A-Za-z0-9+/=]*)\n$/.exec(rest);
  if (!frame || Number(frame[1]) !== frame[2]?.length) return { output: bytes };
  const report = parseLaunchReport(Buffer.from(frame[2], 'base64').toString('utf8'));
  return report ? { output: bytes.subarray(0, at), report } : { output: bytes };
}
