import { setTimeout as delay } from 'node:timers/promises';
import type { RunFlags, Terminal } from '../cli/commands.js';
import { exitCodeFor } from '../cli/exit-codes.js';
import { guessRuntime } from '../cli/guess-runtime.js';
import { parseLimits, readAll, sourceOf, stdinFile, UsageError } from '../cli/run-request.js';
import type { Execution } from '../contract/objects.js';
import type { ExecutionRequest } from '../contract/request.js';
import type { Cluster } from './cluster.js';
import {
  cancelExecution,
  createExecution,
  followLog,
  isFinished,
  listRuntimes,
  logNotReady,
  namePrefixFor,
  phaseOf,
  readExecution,
  resultOf,
  untilFinished,
} from './executions.js';

// What each `kubectl sandpod` command does; kubectl-plugin/main.ts parses the command line. The
// terminal and the run flags are the `sandpod` command's own.

/** How often a log that cannot be opened yet (pod pending, compile step) is tried again. */
const LOG_RETRY_MS = 500;
/** How long the log may run on after the Execution is finished, to hand over its last bytes. */
const LOG_DRAIN_MS = 10_000;

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

export async function run(
  cluster: Cluster,
  files: string[],
  args: string[],
  flags: RunFlags,
  terminal: Terminal,
): Promise<number> {
  const limits = parseLimits(flags.limit);
  let runtime = flags.runtime;
  if (runtime === undefined) {
    const guess = guessRuntime(files[0] ?? '', await listRuntimes(cluster));
    if ('problem' in guess) throw new UsageError(guess.problem);
    runtime = guess.runtime;
  }
  const request: ExecutionRequest = { runtime, ...(await sourceOf(files)) };
  if (args.length > 0) request.args = args;
  if (Object.keys(limits).length > 0) request.limits = limits;
  if (flags.stdin !== undefined) request.stdin = await stdinFile(flags.stdin);
  else if (!terminal.stdin.isTTY) request.stdin = await readAll(terminal.stdin);

  const created = await createExecution(cluster, request, namePrefixFor(files[0] ?? ''));
  const name = created.metadata.name;
  terminal.stderr.write(`execution.sandpod.dev/${name} created\n`);
  const onInterrupt = () => {
    terminal.stderr.write(`cancelling execution.sandpod.dev/${name}\n`);
    cancelExecution(cluster, name).catch((error: unknown) =>
      terminal.stderr.write(`could not cancel: ${String(error)}\n`),
    );
  };
  process.on('SIGINT', onInterrupt);
  try {
    const log = flags.json ? undefined : new LogFollower(cluster, name, terminal.stdout);
    const finished = await untilFinished(cluster, name, (execution) => log?.saw(execution));
    const streamed = (await log?.drain()) ?? false;
    const result = resultOf(finished);
    if (flags.json) terminal.stdout.write(json(result));
    else {
      // The pod was gone before its log could be read: what status kept is all there is.
      if (!streamed) {
        terminal.stdout.write(result.stdout);
        terminal.stderr.write(result.stderr);
      }
      if (result.reason !== 'Completed' && result.reason !== 'NonZeroExit') {
        if (result.reason === 'CompileError' && result.compile?.output) terminal.stderr.write(result.compile.output);
        terminal.stderr.write(`kubectl-sandpod: ${result.reason ?? result.phase}: ${result.message || 'no message'}\n`);
      }
    }
    return exitCodeFor(result);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/** Opens the run container's log once the Execution runs, and tries again until it opens. */
class LogFollower {
  private opening: Promise<boolean> | undefined;
  private finished = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly name: string,
    private readonly out: NodeJS.WritableStream,
  ) {}

  saw(execution: Execution): void {
    if (isFinished(execution)) this.finished = true;
    if (this.opening || phaseOf(execution) === 'Pending') return;
    this.opening = this.read(execution);
  }

  /** Whether the log was read; waits a while for its end once the Execution finished. */
  async drain(): Promise<boolean> {
    this.finished = true;
    if (!this.opening) return false;
    return Promise.race([this.opening, delay(LOG_DRAIN_MS, true)]);
  }

  private async read(execution: Execution): Promise<boolean> {
    for (;;) {
      try {
        await followLog(this.cluster, execution, this.out, true);
        return true;
      } catch (error) {
        if (!logNotReady(error) || this.finished) return false;
        await delay(LOG_RETRY_MS);
        execution = await readExecution(this.cluster, this.name).catch(() => execution);
      }
    }
  }
}

export async function logs(cluster: Cluster, name: string, follow: boolean, terminal: Terminal): Promise<number> {
  let execution = await readExecution(cluster, name);
  for (;;) {
    try {
      await followLog(cluster, execution, terminal.stdout, follow && !isFinished(execution));
      return 0;
    } catch (error) {
      if (!logNotReady(error)) throw error;
    }
    if (!follow || isFinished(execution)) break;
    await delay(LOG_RETRY_MS);
    execution = await readExecution(cluster, name);
  }
  // No pod (removed, or never started): the output status kept.
  const result = resultOf(execution);
  terminal.stdout.write(result.stdout);
  terminal.stderr.write(result.stderr);
  return 0;
}

export async function get(
  cluster: Cluster,
  name: string,
  output: string | undefined,
  terminal: Terminal,
): Promise<number> {
  const execution = await readExecution(cluster, name);
  if (output === 'json') {
    terminal.stdout.write(json(execution));
    return 0;
  }
  const result = resultOf(execution);
  const rows = [
    ['NAME', 'RUNTIME', 'PHASE', 'REASON', 'EXIT', 'DURATION'],
    [
      name,
      result.runtime,
      result.phase,
      result.reason ?? '',
      result.exitCode === null ? '' : String(result.exitCode),
      result.durationMs === null ? '' : `${result.durationMs}ms`,
    ],
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  for (const row of rows)
    terminal.stdout.write(
      `${row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('   ')
        .trimEnd()}\n`,
    );
  if (result.message) terminal.stdout.write(`\n${result.message}\n`);
  return 0;
}

export async function cancel(cluster: Cluster, name: string, terminal: Terminal): Promise<number> {
  await cancelExecution(cluster, name);
  terminal.stdout.write(`execution.sandpod.dev/${name} cancelled\n`);
  return 0;
}
