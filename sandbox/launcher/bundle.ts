import type { Limits, SourceFile } from '../../contract/index.js';

// What a warm pod's launcher (sandpod-launch --bundle 1, run_bundle) reads on its stdin: the
// program, its files, limits and stdin as records "\x1e<tag> <base64> <base64>...\n". A cut record
// spoils only itself, and the launcher ignores records once the bundle is complete, so a bundle
// may be sent again after an attach broke midway.

const RECORD = '\x1e';

export interface BundleStep {
  argv: string[];
  limits: Pick<Limits, 'wallTimeMs' | 'cpuTimeMs' | 'outputBytes' | 'pids'>;
  /** Bytes of sandbox memory the launcher itself holds the step to (0: the pod's limit only). */
  watchedMemoryBytes?: number;
}

export interface Bundle {
  files: SourceFile[];
  /** The run step's stdin; absent: /dev/null (or a live one). */
  stdin?: string;
  /**
   * The run step's stdin is live: it comes after the bundle as records (encodeLiveStdin), and the
   * run waits up to gateMs for the first one, which says the writer's attach sees all output.
   */
  live?: { gateMs: number };
  compile?: BundleStep;
  run: BundleStep;
  /**
   * Judged: the run step once per test, each with its own stdin (absent: empty) and the arguments
   * after run.argv, framed on stdout as sandpod-launch --tests frames them (frames.ts). Never
   * with `live`. The launcher empties its --scratch directories and writes `files` afresh before
   * each test after the first.
   */
  tests?: { stdin?: string; args?: string[] }[];
  /** With tests: none after the first that did not end cleanly (--stop-on-failure 1). */
  stopOnFailure?: boolean;
  /**
   * Letters and digits, secret from the program: the launcher ends stdout with the last step's
   * report framed under this label (sandbox/launcher/warm-log.ts, endFrame), for an attach to read.
   */
  nonce?: string;
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

function record(tag: string, fields: string[]): string {
  return `${RECORD}${tag}${fields.map((field) => ` ${b64(field)}`).join('')}\n`;
}

function stepRecord(tag: 'C' | 'R', step: BundleStep): string {
  const { wallTimeMs, cpuTimeMs, outputBytes, pids } = step.limits;
  const numbers = [wallTimeMs, cpuTimeMs, outputBytes, pids, step.watchedMemoryBytes ?? 0].map(String);
  return record(tag, [...numbers, ...step.argv]);
}

/**
 * The records of one bundle, led by a newline that ends whatever a broken earlier attempt left
 * unfinished, and closed by G, after which the launcher starts.
 */
export function encodeBundle(bundle: Bundle): Buffer {
  const parts = ['\n'];
  if (bundle.nonce !== undefined) parts.push(record('N', [bundle.nonce]));
  for (const file of bundle.files) parts.push(record('F', [file.name, file.content]));
  if (bundle.stdin !== undefined) parts.push(record('I', [bundle.stdin]));
  if (bundle.live) parts.push(record('L', [String(bundle.live.gateMs)]));
  if (bundle.compile) parts.push(stepRecord('C', bundle.compile));
  parts.push(stepRecord('R', bundle.run));
  if (bundle.tests && bundle.tests.length > 0) {
    parts.push(record('K', [String(bundle.tests.length), bundle.stopOnFailure ? '1' : '0']));
    // Each test names its index: a bundle sent again replaces tests, never adds them.
    bundle.tests.forEach((test, index) => {
      parts.push(record('T', [String(index), test.stdin ?? '', ...(test.args ?? [])]));
    });
  }
  parts.push(`${RECORD}G\n`);
  return Buffer.from(parts.join(''), 'utf8');
}

/**
 * Live stdin after a bundle with `live` (sandpod-launch.c, relay_records): `open` says the writer
 * is attached (the gate), bytes go to the program, `end` ends its stdin. Only the launcher's relay
 * reads these: nothing but the bytes of a data record reaches the program.
 */
export function encodeLiveStdin(item: Buffer | 'open' | 'end'): Buffer {
  if (item === 'open') return Buffer.from(`${RECORD}O\n`, 'latin1');
  if (item === 'end') return Buffer.from(`${RECORD}E\n`, 'latin1');
  return Buffer.from(`${RECORD}D ${item.toString('base64')}\n`, 'latin1');
}
