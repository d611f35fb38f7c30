import type { SandpodClient } from '../client/rest-client.js';
import type { ExecutionResult } from '../contract/outcome.js';
import type { ExecutionRequest } from '../contract/request.js';
import { exitCodeFor } from './exit-codes.js';
import { guessRuntime } from './guess-runtime.js';
import { liveRun } from './live-run.js';
import { parseLimits, readAll, sourceOf, stdinFile, UsageError } from './run-request.js';

// What each `sandpod` command does; cli/main.ts parses the command line and calls these. Each
// answers the process's exit status.

export interface Terminal {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface RunFlags {
  runtime?: string;
  stdin?: string;
  limit: string[];
  json?: boolean;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

export async function runFiles(
  client: SandpodClient,
  files: string[],
  args: string[],
  flags: RunFlags,
  terminal: Terminal,
): Promise<number> {
  const limits = parseLimits(flags.limit);
  const runtimes = await client.runtimes();
  let runtime = flags.runtime;
  if (runtime === undefined) {
    const guess = guessRuntime(files[0] ?? '', runtimes);
    if ('problem' in guess) throw new UsageError(guess.problem);
    runtime = guess.runtime;
  }
  const request: ExecutionRequest = { runtime, ...(await sourceOf(files)) };
  if (args.length > 0) request.args = args;
  if (Object.keys(limits).length > 0) request.limits = limits;
  // A file or a pipe is sent whole with the request; a terminal is passed live as typed.
  let input: NodeJS.ReadStream | undefined;
  if (flags.stdin !== undefined) request.stdin = await stdinFile(flags.stdin);
  else if (!terminal.stdin.isTTY) request.stdin = await readAll(terminal.stdin);
  else {
    request.interactive = true;
    input = terminal.stdin;
  }

  const result = await liveRun({
    server: client.server,
    token: client.token,
    request,
    ...(flags.json ? {} : { stdout: terminal.stdout, stderr: terminal.stderr }),
    ...(input ? { input } : {}),
  });
  // The exit event leaves out the output it streamed; the result read afterwards holds it whole.
  if (flags.json) terminal.stdout.write(json(await client.get(result.id)));
  else reportOutcome(result, terminal.stderr);
  return exitCodeFor(result);
}

/** The program's own exit speaks for itself; any other outcome is said on stderr. */
function reportOutcome(result: ExecutionResult, stderr: NodeJS.WritableStream): void {
  if (result.reason === 'Completed' || result.reason === 'NonZeroExit') return;
  if (result.reason === 'CompileError' && result.compile?.output) stderr.write(result.compile.output);
  if (result.truncated) stderr.write('\nsandpod: the output was cut at the limit\n');
  stderr.write(`sandpod: ${result.reason ?? result.phase}: ${result.message || 'no message'}\n`);
}

export async function listRuntimes(
  client: SandpodClient,
  flags: { json?: boolean },
  terminal: Terminal,
): Promise<number> {
  const runtimes = await client.runtimes();
  if (flags.json) {
    terminal.stdout.write(json(runtimes));
    return 0;
  }
  const rows = [
    ['NAME', 'VERSION', 'COMPILED', 'ALIASES'],
    ...runtimes.map((runtime) => [
      runtime.name,
      runtime.version,
      runtime.compiled ? 'yes' : 'no',
      runtime.aliases.join(','),
    ]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  for (const row of rows) {
    terminal.stdout.write(
      `${row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd()}\n`,
    );
  }
  return 0;
}

export async function getExecution(client: SandpodClient, id: string, terminal: Terminal): Promise<number> {
  terminal.stdout.write(json(await client.get(id)));
  return 0;
}

export async function cancelExecution(client: SandpodClient, id: string, terminal: Terminal): Promise<number> {
  terminal.stdout.write(json(await client.cancel(id)));
  return 0;
}
