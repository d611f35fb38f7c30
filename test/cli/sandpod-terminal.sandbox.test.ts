import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type EmbeddedFixture, startEmbedded, testConfig } from '../helpers/embedded.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { SANDPOD_BIN } from './cli-process.js';

// `sandpod run` in a real terminal: tmux gives it a pseudo-terminal, types into it as a person
// would, and shows what the screen shows. The gateway runs in this process in embedded mode.

const run = promisify(execFile);
const shellQuote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

/** One tmux server of this test's own, holding one pane that runs one command. */
class TmuxPane {
  private constructor(
    private readonly socket: string,
    private readonly channel: string,
  ) {}

  /** Runs `command`, then prints its exit status and signals the end on a tmux channel. */
  static async start(command: string): Promise<TmuxPane> {
    const socket = `sandpod-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const channel = `finished-${socket}`;
    const script = `${command}; echo "[exit $?]"; tmux -L ${socket} wait-for -S ${channel}; sleep 3600`;
    await run('tmux', [
      '-L',
      socket,
      '-f',
      '/dev/null',
      'new-session',
      '-d',
      '-x',
      '120',
      '-y',
      '30',
      'bash',
      '-c',
      script,
    ]);
    return new TmuxPane(socket, channel);
  }

  async screen(): Promise<string> {
    const { stdout } = await run('tmux', ['-L', this.socket, 'capture-pane', '-p', '-J']);
    return stdout;
  }

  /** A screen has no event to await: it is read until the text shows, or the deadline passes. */
  async waitForText(text: string, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = await this.screen();
      if (screen.includes(text)) return screen;
      if (Date.now() > deadline) throw new Error(`the screen never showed ${JSON.stringify(text)}:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async type(...keys: string[]): Promise<void> {
    await run('tmux', ['-L', this.socket, 'send-keys', ...keys]);
  }

  /** Resolves when the command has ended, with the screen then. */
  async finished(): Promise<string> {
    await run('tmux', ['-L', this.socket, 'wait-for', this.channel], { timeout: 30_000 });
    return this.screen();
  }

  async close(): Promise<void> {
    await run('tmux', ['-L', this.socket, 'kill-server']).catch(() => undefined);
  }
}

describe('sandpod command (terminal under tmux, embedded sandbox)', function () {
  this.timeout(60_000);
  let sandbox: EmbeddedFixture | undefined;
  let gateway: RunningGateway | undefined;
  let dir = '';
  let pane: TmuxPane | undefined;

  const sandpodRun = async (name: string, source: string) => {
    const file = path.join(dir, name);
    await writeFile(file, source);
    return `SANDPOD_SERVER=${shellQuote(gateway?.url ?? '')} ${shellQuote(SANDPOD_BIN)} run ${shellQuote(file)}`;
  };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sandpod-cli-tty-'));
    sandbox = await startEmbedded(testConfig());
    gateway = await startGateway(sandbox.config, sandbox.backend);
  });

  afterEach(async () => {
    await pane?.close();
    pane = undefined;
  });

  after(async () => {
    await gateway?.close();
    await sandbox?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('should show the prompt, pass the typed line to the program and exit with its status', async () => {
    pane = await TmuxPane.start(
      await sandpodRun('ask.py', 'name = input("Your name? ")\nprint(f"Hello, {name}!")\nraise SystemExit(4)\n'),
    );

    await pane.waitForText('Your name? ');
    await pane.type('Ada Lovelace', 'Enter');
    const screen = await pane.finished();

    assert.match(screen, /Your name\? Ada Lovelace\nHello, Ada Lovelace!\n\[exit 4\]/);
  });

  it('should close the program\u2019s input when Ctrl-D is typed on an empty line', async () => {
    pane = await TmuxPane.start(
      await sandpodRun('count.py', 'import sys\nlines = sys.stdin.read().splitlines()\nprint(f"{len(lines)} lines")\n'),
    );

    await pane.type('first', 'Enter');
    await pane.type('second', 'Enter');
    await pane.waitForText('second');
    await pane.type('C-d');
    const screen = await pane.finished();

    assert.match(screen, /2 lines\n\[exit 0\]/);
  });

  it('should cancel the execution and exit 130 when Ctrl-C is typed', async () => {
    pane = await TmuxPane.start(
      await sandpodRun('wait.py', 'import time\nprint("ready", flush=True)\ntime.sleep(60)\n'),
    );

    await pane.waitForText('ready');
    await pane.type('C-c');
    const screen = await pane.finished();

    assert.match(screen, /sandpod: Cancelled: .*\n\[exit 130\]/);
  });
});
