import { Command, CommanderError } from 'commander';
import type { Terminal } from '../cli/commands.js';
import { EXIT } from '../cli/exit-codes.js';
import { UsageError } from '../cli/run-request.js';
import { apiMessage, statusCodeOf } from './api-errors.js';

// The Kubernetes client library takes a while to load: only a command that calls the API does.
const commands = () => import('./commands.js');

// `kubectl sandpod` (kubectl finds kubectl-sandpod on PATH): Executions through the Kubernetes
// API of the current kubeconfig context and namespace. `main` answers the exit status.

function program(terminal: Terminal, programArgs: string[], exit: { code: number }): Command {
  const root = new Command('kubectl sandpod')
    .description('Run programs as sandpod Executions in the current Kubernetes context')
    .option('-n, --namespace <namespace>', 'the namespace (default: the current context\u2019s)')
    .configureOutput({
      writeOut: (text) => terminal.stdout.write(text),
      writeErr: (text) => terminal.stderr.write(text),
    })
    .exitOverride()
    .showHelpAfterError();
  const cluster = async () => {
    const { currentCluster } = await import('./cluster.js');
    return currentCluster(root.opts<{ namespace?: string }>().namespace);
  };

  root
    .command('run')
    .description('Create an Execution of FILE (more files go beside it) and follow its output')
    .usage('FILE... [--runtime NAME] [--stdin FILE] [--limit NAME=VALUE]... [--json] [-- ARGS...]')
    .argument('<files...>', 'the program; the first file is the one run')
    .option('-r, --runtime <name>', 'the Runtime (default: guessed from the extension)')
    .option('--stdin <file>', 'send this file as standard input (a pipe is sent too)')
    .option(
      '-l, --limit <name=value>',
      'a limit, such as memoryMiB=128 (repeatable)',
      (value, all: string[]) => [...all, value],
      [],
    )
    .option('--json', 'print the result as JSON instead of the output')
    .addHelpText(
      'after',
      '\nExit status: as `sandpod run` (see `sandpod run --help`): the program\u2019s own, or a code per reason.',
    )
    .action(async (files: string[], flags) => {
      exit.code = await (await commands()).run(await cluster(), files, programArgs, flags, terminal);
    });

  root
    .command('logs')
    .description('Print an Execution\u2019s output; with -f follow its pod while it runs')
    .argument('<name>')
    .option('-f, --follow', 'follow the output until the program ends')
    .action(async (name: string, flags: { follow?: boolean }) => {
      exit.code = await (await commands()).logs(await cluster(), name, flags.follow === true, terminal);
    });

  root
    .command('get')
    .description('Show an Execution\u2019s outcome')
    .argument('<name>')
    .option('-o, --output <format>', 'json for the whole object')
    .action(async (name: string, flags: { output?: string }) => {
      exit.code = await (await commands()).get(await cluster(), name, flags.output, terminal);
    });

  root
    .command('cancel')
    .description('Cancel an Execution (its reason becomes Cancelled)')
    .argument('<name>')
    .action(async (name: string) => {
      exit.code = await (await commands()).cancel(await cluster(), name, terminal);
    });
  return root;
}

export async function main(argv: string[], terminal: Terminal): Promise<number> {
  const dashes = argv.indexOf('--');
  const ours = dashes < 0 ? argv : argv.slice(0, dashes);
  const programArgs = dashes < 0 ? [] : argv.slice(dashes + 1);
  const exit = { code: 0 };
  try {
    await program(terminal, programArgs, exit).parseAsync(ours, { from: 'user' });
    return exit.code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT.usage;
    if (error instanceof UsageError) {
      terminal.stderr.write(`kubectl-sandpod: ${error.message}\n`);
      return EXIT.usage;
    }
    const status = statusCodeOf(error);
    terminal.stderr.write(`kubectl-sandpod: ${apiMessage(error)}\n`);
    if (status === 401 || status === 403) return EXIT.unauthorized;
    if (status !== undefined && status >= 400 && status < 500) return EXIT.refused;
    return EXIT.unavailable;
  }
}
