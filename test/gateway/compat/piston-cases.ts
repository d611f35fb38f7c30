import assert from 'node:assert/strict';
import piston from 'piston-client';
import { api } from '../../helpers/gateway.js';

// The Piston v2 cases, driven by the piston-client package and plain HTTP: the same on both
// backends (piston.sandbox.test.ts, piston.cluster.test.ts).

// Key sets of the answers in Piston v2's API documentation, to hold ours to the same shapes.
const DOC_RUNTIME_KEYS = ['aliases', 'language', 'version'];
const DOC_EXECUTE_KEYS = ['language', 'run', 'version'];
const DOC_STAGE_KEYS = ['code', 'output', 'signal', 'stderr', 'stdout'];

interface Stage {
  stdout: string;
  stderr: string;
  output: string;
  code: number | null;
  signal: string | null;
  status: string | null;
}
interface ExecuteAnswer {
  language: string;
  version: string;
  run?: Stage;
  compile?: Stage;
  message?: string;
}

const hasKeys = (value: unknown, keys: string[]) => {
  for (const key of keys) assert.ok(key in (value as object), `${key} in ${JSON.stringify(value)}`);
};

export interface PistonContext {
  /** The gateway's base URL; its clients on loopback are served without a token. */
  url(): string;
}

export function pistonCases(context: PistonContext): void {
  let client: ReturnType<typeof piston>;

  before(() => {
    client = piston({ server: `${context.url()}/piston` });
  });

  it('should list the runtimes in Piston shape when piston-client asks', async () => {
    const runtimes = (await client.runtimes()) as { language: string; version: string }[];
    for (const runtime of runtimes) hasKeys(runtime, DOC_RUNTIME_KEYS);
    const python = runtimes.find((runtime) => runtime.language === 'python');
    assert.match(python?.version ?? '', /^3\.\d+\.\d+$/);
  });

  it('should run a program with stdin and args when piston-client executes it', async () => {
    const answer = (await client.execute('python', 'import sys\nprint(input(), sys.argv[1:])', {
      stdin: 'from stdin',
      args: ['a', 'b c'],
    })) as ExecuteAnswer;
    hasKeys(answer, DOC_EXECUTE_KEYS);
    hasKeys(answer.run, DOC_STAGE_KEYS);
    assert.equal(answer.language, 'python');
    assert.equal(answer.run?.stdout, "from stdin ['a', 'b c']\n");
    assert.equal(answer.run?.code, 0);
    assert.equal(answer.run?.signal, null);
  });

  it('should answer with a failed compile stage and no run when the source does not compile', async () => {
    const answer = (await client.execute('c', 'int main( { return 0; }')) as ExecuteAnswer;
    hasKeys(answer.compile, DOC_STAGE_KEYS);
    assert.notEqual(answer.compile?.code, 0);
    assert.match(answer.compile?.output ?? '', /error/);
    assert.equal(answer.run, undefined);
  });

  it('should stop a program at run_timeout when it runs too long', async () => {
    const answer = (await client.execute('python', 'while True:\n    pass\n', { runTimeout: 1000 })) as ExecuteAnswer;
    assert.equal(answer.run?.status, 'TO');
    assert.equal(answer.run?.code, null);
  });

  it('should run several programs at once when a client sends them together', async () => {
    const programs: [string, string][] = [
      ['cpp', '#include <cstdio>\nint main() { std::puts("0"); }'],
      ['javascript', 'console.log(1)'],
      ['bash', 'echo 2'],
    ];
    const answers = (await Promise.all(
      programs.map(([language, code]) => client.execute(language, code, { args: [] })),
    )) as ExecuteAnswer[];
    assert.deepEqual(
      answers.map((answer) => answer.run?.stdout),
      ['0\n', '1\n', '2\n'],
    );
  });

  it('should refuse a run_timeout above the maximum with Piston message when asked for too much', async () => {
    const answer = (await client.execute('python', 'print(1)', { runTimeout: 10_000_000 })) as ExecuteAnswer;
    assert.deepEqual(answer, { message: 'run_timeout cannot exceed the configured limit of 120000' });
  });

  it('should refuse an unknown version and decode base64 files when asked over plain HTTP', async () => {
    const unknown = await api(`${context.url()}/piston/api/v2/execute`, undefined, {
      body: { language: 'python', version: '2.x', files: [{ content: 'print(1)' }] },
    });
    assert.equal(unknown.status, 400);
    assert.deepEqual(unknown.body, { message: 'python-2.x runtime is unknown' });
    const encoded = await api(`${context.url()}/piston/api/v2/execute`, undefined, {
      body: {
        language: 'py',
        version: '*',
        files: [{ name: 'x.py', content: Buffer.from('print(40 + 2)').toString('base64'), encoding: 'base64' }],
      },
    });
    assert.equal((encoded.body as ExecuteAnswer).run?.stdout, '42\n');
    const twoFiles = await api(`${context.url()}/piston/api/v2/execute`, undefined, {
      body: {
        language: 'python',
        version: '3',
        files: [
          { name: 'app.py', content: 'import helper\nprint(helper.VALUE)' },
          { name: 'helper.py', content: 'VALUE = 7' },
        ],
      },
    });
    assert.equal((twoFiles.body as ExecuteAnswer).run?.stdout, '7\n');
  });
}
