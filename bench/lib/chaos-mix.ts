import type { ExecutionResult } from '../../contract/index.js';

// The programs of the chaos campaign (bench/chaos.ts), each with how its client reaches the
// gateway and the one outcome it deserves: every fault injected during the campaign must leave
// that outcome unchanged, so a result that differs is counted against the campaign, SystemError
// included.

export type ChaosKind =
  | 'hello'
  | 'hello-socket'
  | 'compiled'
  | 'interactive'
  | 'stdin-echo'
  | 'time-limit'
  | 'output-flood'
  | 'memory-bomb'
  | 'nonzero-exit';

/** REST: POST then GET by id until terminal. Socket.IO: `run`, then `attach` after a lost connection. */
export type Transport = 'rest' | 'socket';

export interface ChaosProgram {
  kind: ChaosKind;
  transport: Transport;
  /** The request body (REST) or `run` payload (Socket.IO) of the execution numbered `index`. */
  request(index: number): Record<string, unknown>;
  /** What an interactive client types once the run is accepted. */
  typed?(index: number): string;
  /** Empty when the result is the one this program deserves, else what differs. */
  check(result: ExecutionResult, index: number): string;
}

const reasonIs = (result: ExecutionResult, reason: string) =>
  result.reason === reason ? '' : `reason ${result.reason} (${result.message ?? ''}), expected ${reason}`;

const stdoutIs = (result: ExecutionResult, stdout: string) =>
  result.stdout === stdout
    ? ''
    : `stdout ${JSON.stringify(result.stdout?.slice(0, 80))}, expected ${JSON.stringify(stdout)}`;

const token = (index: number) => `chaos-${index}`;
const reversed = (text: string) => [...text].reverse().join('');

const C_HELLO = '#include <stdio.h>\nint main(void) { puts("hello from c"); return 0; }\n';

export const PROGRAMS: Record<ChaosKind, ChaosProgram> = {
  hello: {
    kind: 'hello',
    transport: 'rest',
    request: () => ({ runtime: 'python', source: 'print("hello")\n' }),
    check: (result) => reasonIs(result, 'Completed') || stdoutIs(result, 'hello\n'),
  },
  'hello-socket': {
    kind: 'hello-socket',
    transport: 'socket',
    request: () => ({ runtime: 'python', source: 'print("hello")\n' }),
    check: (result) => reasonIs(result, 'Completed') || stdoutIs(result, 'hello\n'),
  },
  compiled: {
    kind: 'compiled',
    transport: 'socket',
    request: () => ({ runtime: 'c', source: C_HELLO }),
    check: (result) => reasonIs(result, 'Completed') || stdoutIs(result, 'hello from c\n'),
  },
  interactive: {
    kind: 'interactive',
    transport: 'socket',
    request: () => ({ runtime: 'python', source: 'line = input()\nprint(line[::-1])\n', interactive: true }),
    typed: (index) => `${token(index)}\n`,
    check: (result, index) => reasonIs(result, 'Completed') || stdoutIs(result, `${reversed(token(index))}\n`),
  },
  'stdin-echo': {
    kind: 'stdin-echo',
    transport: 'rest',
    request: (index) => ({
      runtime: 'python',
      source: 'import sys\nsys.stdout.write(sys.stdin.read())\n',
      stdin: `${token(index)}\n`,
    }),
    check: (result, index) => reasonIs(result, 'Completed') || stdoutIs(result, `${token(index)}\n`),
  },
  'time-limit': {
    kind: 'time-limit',
    transport: 'socket',
    request: () => ({ runtime: 'bash', source: 'while :; do :; done\n', limits: { wallTimeMs: 2000 } }),
    check: (result) => reasonIs(result, 'TimeLimitExceeded'),
  },
  'output-flood': {
    kind: 'output-flood',
    transport: 'socket',
    request: () => ({ runtime: 'bash', source: 'yes\n', limits: { outputBytes: 10_000 } }),
    check: (result) => reasonIs(result, 'OutputLimitExceeded') || (result.truncated ? '' : 'not marked truncated'),
  },
  'memory-bomb': {
    kind: 'memory-bomb',
    transport: 'rest',
    // Bytes that are written, so the pages are charged, 1 MiB at a time until the limit.
    request: () => ({
      runtime: 'python',
      source: 'keep = []\nwhile True:\n    keep.append(b"x" * (1 << 20))\n',
      limits: { memoryMiB: 64 },
    }),
    check: (result) => reasonIs(result, 'MemoryLimitExceeded'),
  },
  'nonzero-exit': {
    kind: 'nonzero-exit',
    transport: 'rest',
    request: () => ({ runtime: 'python', source: 'import sys\nprint("bye")\nsys.exit(3)\n' }),
    check: (result) =>
      reasonIs(result, 'NonZeroExit') ||
      (result.exitCode === 3 ? '' : `exit code ${result.exitCode}, expected 3`) ||
      stdoutIs(result, 'bye\n'),
  },
};

/** One round of the mix, 20 executions, in a fixed order: execution i runs MIX[i % 20]. */
export const MIX: readonly ChaosKind[] = [
  'hello',
  'interactive',
  'hello-socket',
  'compiled',
  'time-limit',
  'hello',
  'stdin-echo',
  'memory-bomb',
  'interactive',
  'hello-socket',
  'output-flood',
  'hello',
  'compiled',
  'nonzero-exit',
  'interactive',
  'hello-socket',
  'stdin-echo',
  'time-limit',
  'hello',
  'memory-bomb',
];

export const programOf = (index: number): ChaosProgram => PROGRAMS[MIX[index % MIX.length] as ChaosKind];
