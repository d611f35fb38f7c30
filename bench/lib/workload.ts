import { io as connectClient } from 'socket.io-client';
import type { ExecutionResult } from '../../contract/index.js';

// The programs a soak runs, each with the outcome it deserves: hello worlds, and the hostile ones
// that limits must end (output flood, memory bomb, fork bomb, endless loop), and interactive runs
// over Socket.IO that echo a line typed in.

export type JobKind = 'hello' | 'interactive' | 'flood' | 'memory' | 'fork' | 'time';

export interface JobOutcome {
  kind: JobKind;
  ok: boolean;
  /** What was wrong when not ok. */
  problem?: string;
  latencyMs: number;
  reason: string | null;
}

interface RestJob {
  body: Record<string, unknown>;
  /** Empty when the result is what this job deserves, else what is wrong with it. */
  check(result: ExecutionResult): string;
}

const expectReason =
  (...reasons: string[]) =>
  (result: ExecutionResult) =>
    reasons.includes(result.reason ?? '')
      ? ''
      : `reason ${result.reason} (${result.message}), expected ${reasons.join(' or ')}`;

const REST_JOBS: Record<Exclude<JobKind, 'interactive'>, RestJob> = {
  hello: {
    body: { runtime: 'python', source: 'print("hello")' },
    check: (result) =>
      expectReason('Completed')(result) ||
      (result.stdout === 'hello\n' ? '' : `stdout ${JSON.stringify(result.stdout)}`),
  },
  flood: {
    body: { runtime: 'bash', source: 'yes', limits: { outputBytes: 10_000 } },
    check: (result) => expectReason('OutputLimitExceeded')(result) || (result.truncated ? '' : 'not marked truncated'),
  },
  memory: {
    // Bytes that are written, so the pages are charged, 1 MiB at a time until the limit.
    body: {
      runtime: 'python',
      source: 'keep = []\nwhile True:\n    keep.append(b"x" * (1 << 20))',
      limits: { memoryMiB: 64 },
    },
    check: expectReason('MemoryLimitExceeded'),
  },
  fork: {
    body: {
      runtime: 'python',
      source: 'import os\nwhile True:\n    os.fork()',
      limits: { pids: 32, wallTimeMs: 3000 },
    },
    // Forks fail at the pids limit; the bomb then ends on its own error or on the clock, never succeeds.
    check: (result) =>
      result.phase === 'Failed' && ['NonZeroExit', 'TimeLimitExceeded', 'Signaled'].includes(result.reason ?? '')
        ? ''
        : `phase ${result.phase} reason ${result.reason} (${result.message})`,
  },
  time: {
    body: { runtime: 'bash', source: 'while :; do :; done', limits: { wallTimeMs: 1000 } },
    check: expectReason('TimeLimitExceeded'),
  },
};

/** Runs one REST job with `?wait=true`. */
async function runRest(url: string, kind: Exclude<JobKind, 'interactive'>): Promise<JobOutcome> {
  const job = REST_JOBS[kind];
  const started = performance.now();
  try {
    const response = await fetch(`${url}/api/v1/executions?wait=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(job.body),
    });
    let result = (await response.json()) as ExecutionResult;
    // Past the gateway's longest wait the answer is 202 with the result so far: read it until it ends.
    for (
      let polls = 0;
      response.status === 202 && !['Succeeded', 'Failed'].includes(result.phase) && polls < 1200;
      polls++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      result = (await (await fetch(`${url}/api/v1/executions/${result.id}`)).json()) as ExecutionResult;
    }
    const latencyMs = performance.now() - started;
    if (response.status !== 200 && response.status !== 202) {
      return {
        kind,
        ok: false,
        problem: `HTTP ${response.status} ${JSON.stringify(result).slice(0, 300)}`,
        latencyMs,
        reason: null,
      };
    }
    const problem = job.check(result);
    return { kind, ok: problem === '', ...(problem ? { problem } : {}), latencyMs, reason: result.reason };
  } catch (error) {
    return { kind, ok: false, problem: String(error), latencyMs: performance.now() - started, reason: null };
  }
}

/**
 * Connects a socket, runs a Python program that reads a line and prints it reversed, types the
 * line, and waits for `exit`.
 */
export async function runInteractive(url: string, line: string, timeoutMs = 120_000): Promise<JobOutcome> {
  const started = performance.now();
  const socket = connectClient(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  const outcome = (ok: boolean, reason: string | null, problem?: string): JobOutcome => ({
    kind: 'interactive',
    ok,
    ...(problem ? { problem } : {}),
    latencyMs: performance.now() - started,
    reason,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    let stdout = '';
    let id = '';
    const exit = new Promise<ExecutionResult>((resolve) => {
      socket.on('output', (event: { id: string; stream: string; data: string }) => {
        if (event.id === id && event.stream === 'stdout') stdout += event.data;
      });
      socket.on('exit', (result: ExecutionResult & { id: string }) => {
        if (result.id === id) resolve(result);
      });
    });
    const ack = (await socket
      .timeout(timeoutMs)
      .emitWithAck('run', { runtime: 'python', source: 'print(input()[::-1])', interactive: true })) as
      | { id: string }
      | { error: { code: string; message: string } };
    if ('error' in ack) return outcome(false, null, `run refused: ${ack.error.code} ${ack.error.message}`);
    id = ack.id;
    const typed = (await socket.timeout(timeoutMs).emitWithAck('stdin', { id, data: `${line}\n` })) as object;
    if ('error' in typed) return outcome(false, null, `stdin refused: ${JSON.stringify(typed)}`);
    const result = await Promise.race([
      exit,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no exit in time')), timeoutMs).unref()),
    ]);
    const expected = `${[...line].reverse().join('')}\n`;
    if (result.reason !== 'Completed')
      return outcome(false, result.reason, `reason ${result.reason} (${result.message})`);
    if (stdout !== expected)
      return outcome(false, result.reason, `stdout ${JSON.stringify(stdout)}, expected ${JSON.stringify(expected)}`);
    return outcome(true, result.reason);
  } catch (error) {
    return outcome(false, null, String(error));
  } finally {
    socket.close();
  }
}

export function runJob(url: string, kind: JobKind, serial: number): Promise<JobOutcome> {
  return kind === 'interactive' ? runInteractive(url, `line-${serial}`) : runRest(url, kind);
}

/** The share of each kind in the soak's mix; hello worlds most, every hostile kind regularly. */
export const MIX: [JobKind, number][] = [
  ['hello', 12],
  ['interactive', 2],
  ['flood', 2],
  ['memory', 2],
  ['fork', 1],
  ['time', 1],
];

/** The kinds in a fixed repeating order with the mix's shares, so every interval gets the same mix. */
export function mixSequence(): JobKind[] {
  const sequence: JobKind[] = [];
  const total = MIX.reduce((sum, [, weight]) => sum + weight, 0);
  // Spread each kind evenly: position i of kind k at (i + 0.5) / weight along the cycle.
  const slots: { at: number; kind: JobKind }[] = [];
  for (const [kind, weight] of MIX) for (let i = 0; i < weight; i++) slots.push({ at: (i + 0.5) / weight, kind });
  slots.sort((a, b) => a.at - b.at);
  for (const slot of slots) sequence.push(slot.kind);
  if (sequence.length !== total) throw new Error('mix sequence lost an entry');
  return sequence;
}
