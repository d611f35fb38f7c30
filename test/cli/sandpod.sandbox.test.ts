import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SandpodClient } from '../../client/rest-client.js';
import type { ExecutionResult } from '../../contract/index.js';
import { type EmbeddedFixture, startEmbedded, testConfig } from '../helpers/embedded.js';
import { type RunningGateway, sha256Hex, startGateway } from '../helpers/gateway.js';
import { runCli } from './cli-process.js';

// The `sandpod` command end to end with pipes: the built command (make build) against a gateway
// in embedded mode in this process, whose sandbox runs the programs (root, runc).

const TOKEN = 'cli-token-0123456789';

describe('sandpod command (pipes, embedded sandbox)', function () {
  this.timeout(60_000);
  let sandbox: EmbeddedFixture | undefined;
  let gateway: RunningGateway | undefined;
  let dir = '';
  let env: Record<string, string> = {};

  const file = async (name: string, content: string) => {
    const at = path.join(dir, name);
    await writeFile(at, content);
    return at;
  };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sandpod-cli-'));
    const config = testConfig({ tenants: [{ name: 'cli', tokenSha256: [sha256Hex(TOKEN)] }] });
    sandbox = await startEmbedded(config);
    gateway = await startGateway(config, sandbox.backend);
    env = { SANDPOD_SERVER: gateway.url, SANDPOD_TOKEN: TOKEN };
  });

  after(async () => {
    await gateway?.close();
    await sandbox?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('should list the runtimes of the server when asked', async () => {
    const answer = await runCli(['runtimes'], { env });

    assert.equal(answer.code, 0, answer.stderr);
    assert.match(answer.stdout, /^NAME\s+VERSION\s+COMPILED\s+ALIASES$/m);
    assert.match(answer.stdout, /^python\s+\S+\s+no\s+python3,py/m);
    const listed = JSON.parse((await runCli(['runtimes', '--json'], { env })).stdout) as { name: string }[];
    assert.ok(listed.some((runtime) => runtime.name === 'c'));
  });

  it('should guess the runtime, pass a pipe as input and exit 0 when the program reads and prints', async () => {
    const program = await file(
      'echo.py',
      'import sys\nprint(sys.stdin.read().upper(), end="")\nprint("to stderr", file=sys.stderr)\n',
    );

    const answer = await runCli(['run', program], { env, input: 'from a pipe\n' });

    assert.equal(answer.code, 0, answer.stderr);
    assert.equal(answer.stdout, 'FROM A PIPE\n');
    assert.equal(answer.stderr, 'to stderr\n');
  });

  it('should exit with the program\u2019s own status and pass the arguments after --', async () => {
    const program = await file('args.py', 'import sys\nprint(" ".join(sys.argv[1:]))\nsys.exit(7)\n');

    const answer = await runCli(['run', program, '--', 'one', '--two'], { env });

    assert.equal(answer.code, 7);
    assert.equal(answer.stdout, 'one --two\n');
    assert.equal(answer.stderr, '', 'a program\u2019s own exit is no error of sandpod');
  });

  it('should send a --stdin file and take --runtime when given', async () => {
    const program = await file('program.txt', 'read line; echo "got $line"\n');
    const input = await file('input.txt', 'forty-two\n');

    const answer = await runCli(['run', program, '--runtime', 'bash', '--stdin', input], { env });

    assert.equal(answer.code, 0, answer.stderr);
    assert.equal(answer.stdout, 'got forty-two\n');
  });

  it('should run several files with the first as the program', async () => {
    const main = await file('app.py', 'import helper\nhelper.greet()\n');
    const helper = await file('helper.py', 'def greet():\n    print("hi from helper")\n');

    const answer = await runCli(['run', main, helper], { env });

    assert.equal(answer.code, 0, answer.stderr);
    assert.equal(answer.stdout, 'hi from helper\n');
  });

  it('should say TimeLimitExceeded on stderr and exit 81 when the program runs past --limit wallTimeMs', async () => {
    const program = await file('forever.py', 'while True:\n    pass\n');

    const answer = await runCli(['run', program, '--limit', 'wallTimeMs=500', '--limit', 'cpuTimeMs=400'], { env });

    assert.equal(answer.code, 81);
    assert.match(answer.stderr, /^sandpod: TimeLimitExceeded: /m);
  });

  it('should print the compiler\u2019s output and exit 80 when a C program does not compile', async () => {
    const program = await file('broken.c', 'int main(void) { return undeclared; }\n');

    const answer = await runCli(['run', program], { env });

    assert.equal(answer.code, 80);
    assert.match(answer.stderr, /undeclared/);
    assert.match(answer.stderr, /^sandpod: CompileError: /m);
  });

  it('should print the result alone as JSON with --json', async () => {
    const program = await file('json.js', 'console.log("quiet"); process.exitCode = 3;\n');

    const answer = await runCli(['run', '--json', program], { env });

    assert.equal(answer.code, 3);
    const result = JSON.parse(answer.stdout) as ExecutionResult;
    assert.equal(result.reason, 'NonZeroExit');
    assert.equal(result.stdout, 'quiet\n');
    assert.equal(result.runtime, 'javascript');
  });

  it('should get and cancel an execution by id', async () => {
    const client = new SandpodClient({ server: gateway?.url ?? '', token: TOKEN });
    const { id } = await client.start({ runtime: 'python', source: 'import time\ntime.sleep(60)\n' });

    const cancelled = await runCli(['cancel', id], { env });
    const got = await runCli(['get', id], { env });

    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.equal((JSON.parse(cancelled.stdout) as ExecutionResult).reason, 'Cancelled');
    assert.equal((JSON.parse(got.stdout) as ExecutionResult).id, id);
  });

  const refusals: [string, string[], Record<string, string>, number, RegExp][] = [
    ['an unknown limit', ['run', 'x.py', '--limit', 'gpus=1'], {}, 64, /no limit named gpus/],
    ['a file that is not there', ['run', '/nonexistent/x.py'], {}, 64, /cannot read the program file/],
    ['an extension no runtime has', ['run', 'package.json'], {}, 64, /no runtime of this server runs \.json/],
    [
      'a limit above the maximum',
      ['run', 'README.md', '-r', 'bash', '-l', 'memoryMiB=65536'],
      {},
      65,
      /limits\.memoryMiB/,
    ],
    ['no token', ['runtimes'], { SANDPOD_TOKEN: '' }, 77, /token/],
    ['an unknown id', ['get', 'no-such-execution'], {}, 65, /no such execution/],
    ['an unknown option', ['run', '--colour', 'x.py'], {}, 64, /unknown option/],
  ];
  for (const [what, args, extraEnv, code, message] of refusals) {
    it(`should exit ${code} with a message when given ${what}`, async () => {
      const answer = await runCli(args, { env: { ...env, ...extraEnv } });

      assert.equal(answer.code, code, answer.stderr);
      assert.match(answer.stderr, message);
    });
  }

  it('should give up with exit 69 when the server goes away during a run and stays away', async function () {
    this.timeout(90_000);
    const leaving = await startGateway(sandbox?.config ?? testConfig(), sandbox?.backend as EmbeddedFixture['backend']);
    const program = await file('long.py', 'import time\nprint("started", flush=True)\ntime.sleep(80)\n');
    const running = runCli(['run', program], {
      env: { ...env, SANDPOD_SERVER: leaving.url },
      onStdout: (text) => {
        if (text.includes('started')) void leaving.close();
      },
    });

    const answer = await running;

    assert.equal(answer.code, 69, answer.stderr);
    assert.match(answer.stderr, /lost the server/);
  });

  it('should exit 69 when the server cannot be reached', async () => {
    const answer = await runCli(['runtimes'], { env: { SANDPOD_SERVER: 'http://127.0.0.1:9' } });

    assert.equal(answer.code, 69);
    assert.match(answer.stderr, /cannot reach http:\/\/127\.0\.0\.1:9/);
  });
});
