import { Command, CommanderError, Option } from 'commander';
import { SandpodApiError } from '../client/api-error.js';
import { SandpodClient } from '../client/rest-client.js';
import { cancelExecution, getExecution, listRuntimes, runFiles, type Terminal } from './commands.js';
import { EXIT, exitCodeForError } from './exit-codes.js';
import { UsageError } from './run-request.js';

// `sandpod`: the command line of the API. `main` parses argv and answers the exit status.

const DEFAULT_SERVER = 'http://127.0.0.1:8080';

const EXIT_CODES_HELP = `
Exit status of run:
  the program's own  it ran to its end (Completed, NonZeroExit)
  128+N              it was killed by signal N (Signaled)
  ${EXIT.compileError}                 CompileError (the compiler's output is on stderr)
  ${EXIT.timeLimit}                 TimeLimitExceeded
  ${EXIT.memoryLimit}                 MemoryLimitExceeded
  ${EXIT.outputLimit}                 OutputLimitExceeded
  ${EXIT.wrongAnswer}                 WrongAnswer
  ${EXIT.cancelled}                Cancelled (Ctrl-C)
  ${EXIT.systemError}                 SystemError: the platform failed, not the program
  ${EXIT.usage}                 bad command line, unreadable file, runtime not guessable
  ${EXIT.refused}                 the server refused the request (the message names the field)
  ${EXIT.unavailable}                 the server is unreachable, at capacity or rate-limited
  ${EXIT.unauthorized}                 the token (SANDPOD_TOKEN) was refused

Standard input: a terminal is passed live as you type (Ctrl-D ends it); a pipe, a
redirected file or --stdin FILE is sent whole with the request.`;

function program(terminal: Terminal, programArgs: string[], exit: { code: number }): Command {
  const root = new Command('sandpod')
    .description('Run programs on a sandpod server')
    .addOption(new Option('--server <url>', 'the gateway').env('SANDPOD_SERVER').default(DEFAULT_SERVER))
    .configureOutput({
      writeOut: (text) => terminal.stdout.write(text),
      writeErr: (text) => terminal.stderr.write(text),
    })
    .exitOverride()
    .showHelpAfterError();
  const client = () =>
    new SandpodClient({
      server: root.opts<{ server: string }>().server,
      token: process.env.SANDPOD_TOKEN || undefined,
    });

  root
    .command('run')
    .description('Run FILE (more files go beside it) and pass the terminal through')
    .usage('FILE... [--runtime NAME] [--stdin FILE] [--limit NAME=VALUE]... [--json] [-- ARGS...]')
    .argument('<files...>', 'the program; the first file is the one run')
    .option('-r, --runtime <name>', 'the runtime (default: guessed from the extension)')
    .option('--stdin <file>', 'send this file as standard input')
    .option(
      '-l, --limit <name=value>',
      'a limit, such as memoryMiB=128 (repeatable)',
      (value, all: string[]) => [...all, value],
      [],
    )
    .option('--json', 'print the result as JSON instead of the output')
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (files: string[], flags) => {
      exit.code = await runFiles(client(), files, programArgs, flags, terminal);
    });

  root
    .command('runtimes')
    .description('List the runtimes of the server')
    .option('--json', 'print JSON')
    .action(async (flags) => {
      exit.code = await listRuntimes(client(), flags, terminal);
    });

  root
    .command('get')
    .description('Print an execution\u2019s result as JSON')
    .argument('<id>')
    .action(async (id: string) => {
      exit.code = await getExecution(client(), id, terminal);
    });

  root
    .command('cancel')
    .description('Cancel an execution and print its result as JSON')
    .argument('<id>')
    .action(async (id: string) => {
      exit.code = await cancelExecution(client(), id, terminal);
    });
  return root;
}

/** argv without node and the script; what follows `--` is the program's own arguments. */
export async function main(argv: string[], terminal: Terminal): Promise<number> {
  const dashes = argv.indexOf('--');
  const ours = dashes < 0 ? argv : argv.slice(0, dashes);
  const programArgs = dashes < 0 ? [] : argv.slice(dashes + 1);
  const exit = { code: 0 };
  try {
    await program(terminal, programArgs, exit).parseAsync(ours, { from: 'user' });
    return exit.code;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : EXIT.usage;
    }
    if (error instanceof UsageError) {
      terminal.stderr.write(`sandpod: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof SandpodApiError) {
      const field = error.field ? ` (field ${error.field})` : '';
      terminal.stderr.write(`sandpod: ${error.message}${field}\n`);
      return exitCodeForError(error.code, error.status);
    }
    terminal.stderr.write(`sandpod: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.systemError;
  }
}
