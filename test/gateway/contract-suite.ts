import assert from 'node:assert/strict';
import type winston from 'winston';
import type { ExecutionResult } from '../../contract/index.js';
import {
  DEFAULT_COMPILE_LIMITS,
  DEFAULT_LIMITS,
  DEFAULT_MAX_LIMITS,
  isTerminal,
  PHASES,
} from '../../contract/index.js';
import type { ExecutionBackend } from '../../gateway/backend.js';
import { type Config, parseConfig } from '../../gateway/config.js';
import { waitingBytes } from '../../gateway/socket/flow-control.js';
import type { ApiDescription } from '../helpers/api-description.js';
import {
  ackId,
  api,
  checkAnswersOf,
  connectSocket,
  emitWithAck,
  type RunningGateway,
  sha256Hex,
  startGateway,
  testLogger,
} from '../helpers/gateway.js';
import { scaledTimes, timeScale } from '../helpers/time-scale.js';
import { batchContract, callbackContract } from './contract-batch.js';
import { judgingContract } from './contract-judging.js';

export type MakeBackend = (config: Config, log: winston.Logger) => Promise<ExecutionBackend>;

const TOKENS = {
  alpha: 'alpha-token-0123456789',
  beta: 'beta-token-0123456789',
  tiny: 'tiny-token-0123456789',
  slow: 'slow-token-0123456789',
  batch: 'batch-token-0123456789',
  capped: 'capped-token-0123456789',
};

const CALLBACK_SECRET = 'alpha-callback-secret-0123456789';

const HELLO: Record<string, string> = {
  python: 'print("hello")\n',
  javascript: 'console.log("hello");\n',
  c: '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n',
  cpp: '#include <iostream>\nint main() { std::cout << "hello" << std::endl; }\n',
  bash: 'echo hello\n',
};

const BUSY_LOOP = 'while True:\n    pass\n';

/** Three prompts without a newline, each answered before the next is asked; then the answers. */
const THREE_PROMPTS: Record<string, string> = {
  python: 'a = input("a? ")\nb = input("b? ")\nc = input("c? ")\nprint("got", a, b, c)\n',
  c: [
    '#include <stdio.h>',
    'int main(void) {',
    '  int a, b, c;',
    '  printf("a? "); fflush(stdout); if (scanf("%d", &a) != 1) return 1;',
    '  printf("b? "); fflush(stdout); if (scanf("%d", &b) != 1) return 1;',
    '  printf("c? "); fflush(stdout); if (scanf("%d", &c) != 1) return 1;',
    '  printf("got %d %d %d\\n", a, b, c);',
    '  return 0;',
    '}',
    '',
  ].join('\n'),
  bash: "printf 'a? '; read a\nprintf 'b? '; read b\nprintf 'c? '; read c\necho got $a $b $c\n",
};

/**
 * One byte every 50 ms, no newline; then a line, and the times (ms since the epoch) each was
 * written. Under emulation every step of the path to the client is slower, so the gap grows with
 * the time scale as every other bound does.
 */
const BYTE_BY_BYTE = [
  'import sys, time',
  'stamps = []',
  'for i in range(20):',
  '    stamps.append(time.time() * 1000)',
  '    sys.stdout.write(chr(97 + i))',
  '    sys.stdout.flush()',
  `    time.sleep(${0.05 * timeScale})`,
  'print()',
  'print(" ".join("%.1f" % stamp for stamp in stamps))',
  '',
].join('\n');
const LONG_SLEEP = 'import time\ntime.sleep(60)\n';

/** Time limits scaled for emulation (helpers/time-scale.ts); as they are everywhere else. */
const defaults = scaledTimes(DEFAULT_LIMITS);
const maxima = scaledTimes(DEFAULT_MAX_LIMITS);

function suiteConfig(overrides: Record<string, unknown> = {}): Config {
  return parseConfig({
    limits: { defaults, maxima },
    compileLimits: scaledTimes(DEFAULT_COMPILE_LIMITS),
    tenants: [
      {
        name: 'alpha',
        tokenSha256: [sha256Hex(TOKENS.alpha)],
        callbackHosts: ['127.0.0.1'],
        callbackSecret: CALLBACK_SECRET,
      },
      {
        name: 'beta',
        tokenSha256: [sha256Hex(TOKENS.beta)],
        limits: { defaults: { ...defaults, memoryMiB: 64 }, maxima: { ...maxima, memoryMiB: 128 } },
      },
      { name: 'tiny', tokenSha256: [sha256Hex(TOKENS.tiny)], maxConcurrent: 1 },
      { name: 'slow', tokenSha256: [sha256Hex(TOKENS.slow)], ratePerSecond: 0.01, burst: 1 },
      { name: 'batch', tokenSha256: [sha256Hex(TOKENS.batch)], ratePerSecond: 0.01, burst: 3 },
      { name: 'capped', tokenSha256: [sha256Hex(TOKENS.capped)], maxSockets: 2, maxStreams: 2 },
    ],
    http: { cancelWaitMs: 20_000 },
    callbacks: { initialBackoffMs: 200 },
    ...overrides,
  });
}

interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

/** Socket.IO events and the schema of the API description each one's payload must match. */
const SOCKET_EVENT_SCHEMAS: Record<string, string> = {
  output: 'SocketOutputEvent',
  status: 'SocketStatusEvent',
  exit: 'SocketExitEvent',
};

const errorOf = (body: unknown) => (body as ErrorBody).error;

async function untilTerminal(url: string, token: string, id: string): Promise<ExecutionResult> {
  for (;;) {
    const { status, body } = await api(`${url}/api/v1/executions/${id}`, token);
    assert.equal(status, 200);
    const result = body as ExecutionResult;
    if (isTerminal(result.phase)) return result;
    // REST has no event to await; polling is what a REST client does too.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The external contract (CONTRACT.md) of the gateway, run against whatever backend `makeBackend`
 * builds, so each backend proves the same behaviour.
 */
export function contractSuite(name: string, makeBackend: MakeBackend): void {
  describe(`gateway contract (${name})`, function () {
    this.timeout(60_000 * timeScale);
    let backend: ExecutionBackend;
    let gateway: RunningGateway;
    let url: string;
    /** The gateway's own API description: every answer and event of the suite is checked against it. */
    let description: ApiDescription | undefined;
    let stopChecking: (() => void) | undefined;
    const runs: { token: string; id: string }[] = [];

    const post = (body: unknown, token = TOKENS.alpha, query = '') =>
      api(`${url}/api/v1/executions${query}`, token, { body });

    const postStarted = async (body: unknown, token = TOKENS.alpha) => {
      const response = await post(body, token);
      assert.equal(response.status, 202, JSON.stringify(response.body));
      const { id } = response.body as { id: string };
      runs.push({ token, id });
      return id;
    };

    before(async () => {
      const config = suiteConfig();
      backend = await makeBackend(config, testLogger());
      gateway = await startGateway(config, backend);
      url = gateway.url;
      ({ description, stop: stopChecking } = await checkAnswersOf(url));
    });

    afterEach(async () => {
      // A failed test may leave a long program running; it must not hold a slot for the next one.
      await Promise.all(
        runs.map(({ token, id }) => api(`${url}/api/v1/executions/${id}`, token, { method: 'DELETE' })),
      );
      runs.length = 0;
    });

    after(async () => {
      stopChecking?.();
      await gateway?.close();
      await backend?.close(0);
    });

    describe('judging', () => {
      judgingContract({
        post: (body) => post(body),
        run: async (body) => {
          const { status, body: result } = await post(body, TOKENS.alpha, '?wait=true');
          assert.equal(status, 200, JSON.stringify(result));
          return result as ExecutionResult;
        },
      });
    });

    describe('batch', () => {
      batchContract({
        url: () => url,
        token: TOKENS.batch,
        untilTerminal: (token, id) => untilTerminal(url, token, id),
        started: (token, id) => runs.push({ token, id }),
      });
    });

    describe('callbacks', () => {
      callbackContract({
        url: () => url,
        token: TOKENS.alpha,
        secret: CALLBACK_SECRET,
        otherToken: TOKENS.beta,
      });
    });

    describe('REST', () => {
      it('should serve its OpenAPI 3.1 description without a token when asked', async () => {
        const { status, body } = await api(`${url}/api/v1/openapi.json`, undefined);

        assert.equal(status, 200);
        assert.equal((body as { openapi: string }).openapi, '3.1.0');
        assert.ok((body as { paths: Record<string, unknown> }).paths['/executions/{id}']);
      });

      it('should tell each tenant its own limit defaults and maxima when asked', async () => {
        const alpha = await api(`${url}/api/v1/limits`, TOKENS.alpha);
        assert.equal(alpha.status, 200);
        assert.deepEqual(alpha.body, { defaults, maxima });
        const beta = await api(`${url}/api/v1/limits`, TOKENS.beta);
        assert.equal((beta.body as { maxima: { memoryMiB: number } }).maxima.memoryMiB, 128);
        assert.equal((beta.body as { defaults: { memoryMiB: number } }).defaults.memoryMiB, 64);
      });

      it('should hold each tenant to its own maximum when a request asks for more', async () => {
        const request = { runtime: 'python', source: 'print(1)', limits: { memoryMiB: 256 } };
        const refused = await post(request, TOKENS.beta);
        assert.equal(refused.status, 400);
        assert.equal(errorOf(refused.body).field, 'limits.memoryMiB');
        await postStarted(request, TOKENS.alpha);
      });

      it('should list the runtimes when asked', async () => {
        const { status, body } = await api(`${url}/api/v1/runtimes`, TOKENS.alpha);

        assert.equal(status, 200);
        const runtimes = body as { name: string; version: string; aliases: string[]; compiled: boolean }[];
        for (const runtime of runtimes) {
          assert.equal(typeof runtime.version, 'string');
          assert.ok(Array.isArray(runtime.aliases));
          assert.equal(typeof runtime.compiled, 'boolean');
        }
        const names = runtimes.map((runtime) => runtime.name);
        for (const expected of Object.keys(HELLO)) assert.ok(names.includes(expected), `${expected} in ${names}`);
      });

      it('should answer 202 with a Location when an execution is posted', async () => {
        const response = await post({ runtime: 'python', source: 'print(6 * 7)\n' });

        assert.equal(response.status, 202);
        const { id, phase } = response.body as { id: string; phase: string };
        assert.equal(phase, 'Pending');
        assert.equal(response.headers.get('location'), `/api/v1/executions/${id}`);
        const fetched = await api(`${url}/api/v1/executions/${id}`, TOKENS.alpha);
        assert.equal(fetched.status, 200);
        const result = fetched.body as ExecutionResult;
        assert.equal(result.id, id);
        assert.equal(result.runtime, 'python');
        assert.ok(PHASES.includes(result.phase));
        const final = await untilTerminal(url, TOKENS.alpha, id);
        assert.equal(final.reason, 'Completed');
        assert.equal(final.stdout, '42\n');
      });

      for (const [runtime, source] of Object.entries(HELLO)) {
        it(`should answer 200 with the final result when ${runtime} runs with ?wait=true`, async () => {
          const { status, body } = await post({ runtime, source }, TOKENS.alpha, '?wait=true');

          assert.equal(status, 200, JSON.stringify(body));
          const result = body as ExecutionResult;
          assert.equal(result.phase, 'Succeeded', JSON.stringify(result));
          assert.equal(result.reason, 'Completed');
          assert.equal(result.exitCode, 0);
          assert.equal(result.stdout, 'hello\n');
          assert.equal(result.runtime, runtime);
        });
      }

      const invalidRequests: { what: string; body: unknown; field: string }[] = [
        {
          what: 'a file name climbs out',
          body: { runtime: 'python', files: [{ name: '../../x', content: '' }] },
          field: 'files[0].name',
        },
        {
          what: 'a file name is absolute',
          body: { runtime: 'python', files: [{ name: '/etc/passwd', content: '' }] },
          field: 'files[0].name',
        },
        {
          what: 'a file name is a dot',
          body: { runtime: 'python', files: [{ name: '.', content: '' }] },
          field: 'files[0].name',
        },
        { what: 'network is asked for', body: { runtime: 'python', source: '', network: true }, field: 'network' },
        {
          what: 'a limit is above the maximum',
          body: { runtime: 'python', source: '', limits: { memoryMiB: 4096 } },
          field: 'limits.memoryMiB',
        },
        {
          what: 'the wall time is above the maximum',
          body: { runtime: 'python', source: '', limits: { wallTimeMs: maxima.wallTimeMs + 1 } },
          field: 'limits.wallTimeMs',
        },
        { what: 'the runtime is missing', body: { source: 'print(1)' }, field: 'runtime' },
        { what: 'the runtime is unknown', body: { runtime: 'no-such-language', source: '' }, field: 'runtime' },
        {
          what: 'both source and files are given',
          body: { runtime: 'python', source: '', files: [{ name: 'a.py', content: '' }] },
          field: 'source',
        },
      ];
      for (const { what, body, field } of invalidRequests) {
        it(`should answer 400 naming ${field} when ${what}`, async () => {
          const response = await post(body);

          assert.equal(response.status, 400, JSON.stringify(response.body));
          assert.equal(errorOf(response.body).field, field);
          assert.equal(typeof errorOf(response.body).message, 'string');
        });
      }

      it('should answer 400 with a JSON error when the body is not valid JSON', async () => {
        const response = await api(`${url}/api/v1/executions`, TOKENS.alpha, { rawBody: '{"runtime": ' });

        assert.equal(response.status, 400);
        assert.equal(errorOf(response.body).code, 'invalid');
      });

      it('should answer 400 when the body is not an object', async () => {
        const response = await post([1, 2, 3]);

        assert.equal(response.status, 400);
        assert.ok(errorOf(response.body).message);
      });

      it('should answer 415 when the body is not JSON', async () => {
        const response = await api(`${url}/api/v1/executions`, TOKENS.alpha, {
          rawBody: 'print(1)',
          contentType: 'text/plain',
        });

        assert.equal(response.status, 415);
        assert.equal(errorOf(response.body).code, 'unsupported_media_type');
      });

      it('should answer 413 with a JSON error when the body is 3 MB', async () => {
        const response = await post({ runtime: 'python', source: 'input()\n', stdin: 'x'.repeat(3 * 1024 * 1024) });

        assert.equal(response.status, 413);
        assert.equal(errorOf(response.body).code, 'payload_too_large');
      });

      it('should answer 404 when the execution does not exist', async () => {
        const got = await api(`${url}/api/v1/executions/no-such-execution`, TOKENS.alpha);
        const deleted = await api(`${url}/api/v1/executions/no-such-execution`, TOKENS.alpha, { method: 'DELETE' });

        assert.equal(got.status, 404);
        assert.equal(errorOf(got.body).code, 'not_found');
        assert.equal(deleted.status, 404);
      });

      it("should answer 404 when a tenant asks for another tenant's execution", async () => {
        const id = await postStarted({ runtime: 'python', source: 'print(1)\n' }, TOKENS.alpha);

        const got = await api(`${url}/api/v1/executions/${id}`, TOKENS.beta);
        const deleted = await api(`${url}/api/v1/executions/${id}`, TOKENS.beta, { method: 'DELETE' });

        assert.equal(got.status, 404);
        assert.equal(deleted.status, 404);
        assert.equal((await api(`${url}/api/v1/executions/${id}`, TOKENS.alpha)).status, 200);
      });

      it('should answer 401 when the token is missing or wrong', async () => {
        const missing = await api(`${url}/api/v1/runtimes`, undefined);
        const wrong = await api(`${url}/api/v1/runtimes`, 'not-a-token');

        assert.equal(missing.status, 401);
        assert.equal(errorOf(missing.body).code, 'unauthorized');
        assert.equal(wrong.status, 401);
      });

      it('should answer 404 with a JSON error when the API route is unknown', async () => {
        const response = await api(`${url}/api/v1/nothing-here`, TOKENS.alpha);

        assert.equal(response.status, 404);
        assert.equal(errorOf(response.body).code, 'not_found');
      });

      it('should cancel a running execution when it is deleted', async () => {
        const id = await postStarted({ runtime: 'python', source: BUSY_LOOP });

        const response = await api(`${url}/api/v1/executions/${id}`, TOKENS.alpha, { method: 'DELETE' });

        assert.ok([200, 202].includes(response.status), String(response.status));
        const result =
          response.status === 200 ? (response.body as ExecutionResult) : await untilTerminal(url, TOKENS.alpha, id);
        assert.equal(result.phase, 'Failed');
        assert.equal(result.reason, 'Cancelled');
      });

      it("should answer 429 with Retry-After when the tenant's concurrency cap is reached", async () => {
        await postStarted({ runtime: 'python', source: LONG_SLEEP }, TOKENS.tiny);

        const response = await post({ runtime: 'python', source: 'print(1)\n' }, TOKENS.tiny);

        assert.equal(response.status, 429);
        assert.equal(errorOf(response.body).code, 'too_many_requests');
        assert.ok(Number(response.headers.get('retry-after')) >= 1);
      });

      it("should answer 429 with Retry-After when the tenant's start rate is exceeded", async () => {
        await postStarted({ runtime: 'bash', source: 'true\n' }, TOKENS.slow);

        const response = await post({ runtime: 'bash', source: 'true\n' }, TOKENS.slow);

        assert.equal(response.status, 429);
        assert.ok(Number(response.headers.get('retry-after')) >= 1);
      });

      it('should end with an EOF error when a program reads stdin that was not given', async () => {
        const { status, body } = await post(
          { runtime: 'python', source: 'while True:\n    input()\n' },
          TOKENS.alpha,
          '?wait=true',
        );

        assert.equal(status, 200);
        const result = body as ExecutionResult;
        assert.equal(result.reason, 'NonZeroExit');
        assert.match(result.stderr, /EOFError/);
      });

      it('should answer the probes and metrics at the root when asked without a token', async () => {
        const health = await api(`${url}/healthz`, undefined);
        const ready = await api(`${url}/readyz`, undefined);
        const metrics = await api(`${url}/metrics`, undefined);

        assert.equal(health.status, 200);
        assert.equal(ready.status, 200);
        assert.equal(metrics.status, 200);
        assert.match(String(metrics.body), /sandpod_executions_started_total/);
        assert.match(String(metrics.body), /sandpod_executions_running/);
      });

      it('should serve the web page or its placeholder at the root', async () => {
        const response = await fetch(`${url}/`);

        assert.equal(response.status, 200);
        assert.match(response.headers.get('content-type') ?? '', /text\/html/);
      });
    });

    describe('REST without tenants', () => {
      let loopback: RunningGateway;

      before(async () => {
        loopback = await startGateway(suiteConfig({ tenants: [] }), backend, { webDir: '/nonexistent/web/dist' });
      });

      it('should serve a page saying so when the web page is not built', async () => {
        const response = await fetch(`${loopback.url}/`);

        assert.equal(response.status, 200);
        assert.match(await response.text(), /not built/);
      });

      after(async () => {
        await loopback?.close();
      });

      it('should serve a loopback client without a token when no tenants are configured', async () => {
        const { status, body } = await api(`${loopback.url}/api/v1/executions?wait=true`, undefined, {
          body: { runtime: 'bash', source: 'echo loopback\n' },
        });

        assert.equal(status, 200);
        assert.equal((body as ExecutionResult).stdout, 'loopback\n');
      });
    });

    describe('Socket.IO', () => {
      const sockets: { close(): void }[] = [];
      const undescribed: string[] = [];
      const connect = async (token: string | undefined = TOKENS.alpha, at = url) => {
        const connected = await connectSocket(at, token);
        sockets.push(connected.socket);
        connected.socket.onAny((event: string, payload: unknown) => {
          const schema = SOCKET_EVENT_SCHEMAS[event];
          const validate = schema ? description?.component(schema) : undefined;
          if (!schema) undescribed.push(`event ${event} is not in the API description`);
          else if (validate && !validate(payload)) undescribed.push(`${event}: ${JSON.stringify(validate.errors)}`);
        });
        return connected;
      };

      afterEach(() => {
        for (const socket of sockets.splice(0)) socket.close();
        assert.deepEqual(undescribed.splice(0), [], 'every event matches the API description');
      });

      it('should refuse the handshake when the token is wrong', async () => {
        await assert.rejects(connect('not-a-token'), /token/);
      });

      it('should send output and status, then exit once and last, when a program runs', async () => {
        const { socket, recorder } = await connect();

        const id = ackId(await emitWithAck(socket, 'run', { runtime: 'python', source: 'print("hello")\n' }));
        const result = await recorder.untilExit(id);
        // An ack is sent after every event emitted before it, so this proves nothing followed the exit.
        await emitWithAck(socket, 'cancel', { id });

        const events = recorder.events(id);
        assert.equal(events.filter((event) => event.type === 'exit').length, 1);
        assert.equal(events.at(-1)?.type, 'exit');
        assert.equal(recorder.stdout(id), 'hello\n');
        assert.ok(events.some((event) => event.type === 'status'));
        assert.equal(result.id, id);
        assert.equal(result.reason, 'Completed');
      });

      it('should send the output once, not again in exit, and keep the whole result for GET', async () => {
        const { socket, recorder } = await connect();

        const id = ackId(await emitWithAck(socket, 'run', { runtime: 'python', source: 'print("hello")\n' }));
        const exit = (await recorder.untilExit(id)) as ExecutionResult & { outputStreamed?: boolean };
        const { status, body } = await api(`${url}/api/v1/executions/${id}`, TOKENS.alpha);

        assert.equal(recorder.stdout(id), 'hello\n');
        assert.equal(exit.outputStreamed, true);
        assert.equal(exit.stdout, '');
        assert.equal(exit.stderr, '');
        assert.equal(exit.reason, 'Completed');
        assert.equal(exit.exitCode, 0);
        assert.equal(status, 200);
        assert.equal((body as ExecutionResult).stdout, 'hello\n');
      });

      it("should refuse a tenant's socket past its maxSockets, and take one again once one closes", async () => {
        const first = await connect(TOKENS.capped);
        await connect(TOKENS.capped);

        await assert.rejects(connect(TOKENS.capped), /capped already has 2 sockets open/);
        const closed = new Promise((resolve) => first.socket.once('disconnect', resolve));
        first.socket.close();
        await closed;
        // The server sees the close a moment after the client; a refusal until then is the cap.
        for (let attempt = 0; ; attempt++) {
          try {
            await connect(TOKENS.capped);
            break;
          } catch (error) {
            if (attempt >= 50) throw error;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }
      });

      it("should refuse a follow and a REST result past the tenant's maxStreams, over all its sockets", async () => {
        const one = await connect(TOKENS.capped);
        const ids = [];
        for (let index = 0; index < 2; index++) {
          const program = { runtime: 'python', source: 'input()\nprint("ok")\n', interactive: true };
          ids.push(ackId(await emitWithAck(one.socket, 'run', program)));
        }
        for (const id of ids) runs.push({ token: TOKENS.capped, id });
        const two = await connect(TOKENS.capped);

        const refusedRun = await emitWithAck(two.socket, 'run', { runtime: 'python', source: 'print(1)\n' });
        const refusedAttach = await emitWithAck(two.socket, 'attach', { id: ids[0] });
        const refusedGet = await api(`${url}/api/v1/executions/${ids[0]}`, TOKENS.capped);
        for (const id of ids) await emitWithAck(one.socket, 'stdin:end', { id });
        for (const id of ids) await one.recorder.untilExit(id);

        for (const refused of [refusedRun, refusedAttach]) {
          assert.ok('error' in refused, JSON.stringify(refused));
          assert.equal(refused.error.code, 'too_many_requests');
          assert.match(refused.error.message, /capped already has 2 executions followed/);
        }
        assert.equal(refusedGet.status, 429);
        assert.ok(refusedGet.headers.get('retry-after'));
        // Streams are given back when the follows end.
        assert.equal((await api(`${url}/api/v1/executions/${ids[0]}`, TOKENS.capped)).status, 200);
      });

      it('should pass stdin to an interactive program when the client types', async () => {
        const { socket, recorder } = await connect();
        const id = ackId(
          await emitWithAck(socket, 'run', {
            runtime: 'python',
            source: 'name = input()\nprint("hi", name)\n',
            interactive: true,
          }),
        );

        assert.deepEqual(await emitWithAck(socket, 'stdin', { id, data: 'bob\n' }), { id });
        const result = await recorder.untilExit(id);

        assert.equal(result.reason, 'Completed', JSON.stringify(result));
        assert.match(recorder.stdout(id), /hi bob/);
      });

      it('should give the program end of file when the client sends stdin:end', async () => {
        const { socket, recorder } = await connect();
        const id = ackId(
          await emitWithAck(socket, 'run', {
            runtime: 'python',
            source: 'import sys\ndata = sys.stdin.read()\nprint("got", len(data))\n',
            interactive: true,
          }),
        );

        await emitWithAck(socket, 'stdin', { id, data: 'abc' });
        assert.deepEqual(await emitWithAck(socket, 'stdin:end', { id }), { id });
        const result = await recorder.untilExit(id);

        assert.equal(result.reason, 'Completed');
        assert.equal(recorder.stdout(id), 'got 3\n');
      });

      it('should replay earlier output when a second socket attaches', async () => {
        const first = await connect();
        const id = ackId(
          await emitWithAck(first.socket, 'run', {
            runtime: 'python',
            source: 'print("before")\ninput()\nprint("after")\n',
            interactive: true,
          }),
        );
        await first.recorder.untilStdout(id, 'before');
        const second = await connect();

        assert.deepEqual(await emitWithAck(second.socket, 'attach', { id }), { id });
        await second.recorder.untilStdout(id, 'before');
        await emitWithAck(first.socket, 'stdin', { id, data: '\n' });
        const result = await second.recorder.untilExit(id);

        assert.equal(second.recorder.stdout(id), 'before\nafter\n');
        assert.equal(result.reason, 'Completed');
      });

      it("should refuse to attach when the execution is another tenant's", async () => {
        const id = await postStarted({ runtime: 'python', source: 'print(1)\n' }, TOKENS.alpha);
        const { socket } = await connect(TOKENS.beta);

        const ack = await emitWithAck(socket, 'attach', { id });

        assert.deepEqual('error' in ack && ack.error.code, 'not_found');
      });

      for (const [runtime, source] of Object.entries(THREE_PROMPTS)) {
        it(`should show each prompt that ends without a newline at once when ${runtime} asks three times`, async () => {
          const { socket, recorder } = await connect();
          const id = ackId(await emitWithAck(socket, 'run', { runtime, source, interactive: true }));
          runs.push({ token: TOKENS.alpha, id });

          // Each answer is typed only once its prompt has arrived: a prompt held back until the
          // line ends would never come, and the program would end at its wall limit instead.
          let shown = '';
          for (const [prompt, answer] of [
            ['a? ', '1'],
            ['b? ', '2'],
            ['c? ', '3'],
          ] as const) {
            shown += prompt;
            const expected = shown;
            await recorder.until(id, () => recorder.stdout(id) === expected);
            assert.deepEqual(await emitWithAck(socket, 'stdin', { id, data: `${answer}\n` }), { id });
          }
          const result = await recorder.untilExit(id);

          assert.equal(result.reason, 'Completed', JSON.stringify(result));
          assert.equal(recorder.stdout(id), 'a? b? c? got 1 2 3\n');
          // The streamed client's exit leaves the output out; the stored result keeps it whole.
          assert.equal((await untilTerminal(url, TOKENS.alpha, id)).stdout, 'a? b? c? got 1 2 3\n');
        });
      }

      it('should pass each byte on before the next is written when a program writes one every 50 ms', async () => {
        const { socket, recorder } = await connect();
        const arrivals: { atMs: number; data: string }[] = [];
        socket.on('output', (event: { id: string; stream: string; data: string }) => {
          if (event.stream === 'stdout') arrivals.push({ atMs: Date.now(), data: event.data });
        });
        const id = ackId(
          await emitWithAck(socket, 'run', { runtime: 'python', source: BYTE_BY_BYTE, interactive: true }),
        );
        runs.push({ token: TOKENS.alpha, id });
        const result = await recorder.untilExit(id);

        assert.equal(result.reason, 'Completed', JSON.stringify(result));
        const [bytes = '', stamps = ''] = recorder.stdout(id).split('\n');
        assert.equal(bytes, 'abcdefghijklmnopqrst');
        // The program wrote byte i+1 only after the time it noted for it (same machine, same clock).
        const writtenAtMs = stamps.split(' ').map(Number);
        let offset = 0;
        const arrivedAtMs: number[] = [];
        for (const arrival of arrivals) {
          for (let index = 0; index < arrival.data.length; index += 1) arrivedAtMs[offset + index] = arrival.atMs;
          offset += arrival.data.length;
        }
        for (let index = 0; index + 1 < bytes.length; index += 1) {
          const arrived = arrivedAtMs[index] ?? Number.POSITIVE_INFINITY;
          const nextWritten = writtenAtMs[index + 1] ?? 0;
          assert.ok(
            arrived < nextWritten,
            `byte ${index} arrived at ${arrived}, byte ${index + 1} was written at ${nextWritten}`,
          );
        }
      });

      it('should cancel the execution when the client sends cancel', async () => {
        const { socket, recorder } = await connect();
        const id = ackId(await emitWithAck(socket, 'run', { runtime: 'python', source: BUSY_LOOP }));

        assert.deepEqual(await emitWithAck(socket, 'cancel', { id }), { id });
        const result = await recorder.untilExit(id);

        assert.equal(result.phase, 'Failed');
        assert.equal(result.reason, 'Cancelled');
      });

      const malformed: { event: string; payload: unknown; field?: string; code: string }[] = [
        { event: 'run', payload: 'print(1)', code: 'invalid' },
        { event: 'run', payload: { runtime: 'python', source: '', network: true }, field: 'network', code: 'invalid' },
        { event: 'attach', payload: {}, field: 'id', code: 'invalid' },
        { event: 'attach', payload: 42, code: 'invalid' },
        { event: 'stdin', payload: { id: 7, data: 'x' }, field: 'id', code: 'invalid' },
        { event: 'stdin', payload: { id: 'x' }, field: 'data', code: 'invalid' },
        { event: 'stdin:end', payload: null, code: 'invalid' },
        { event: 'cancel', payload: ['x'], code: 'invalid' },
        { event: 'cancel', payload: { id: 'no-such-execution' }, code: 'not_found' },
        { event: 'attach', payload: { id: 'no-such-execution' }, code: 'not_found' },
      ];
      for (const { event, payload, field, code } of malformed) {
        it(`should answer ${event} with error ${code} when the payload is ${JSON.stringify(payload)}`, async () => {
          const { socket } = await connect();

          const ack = await emitWithAck(socket, event, payload);

          assert.ok('error' in ack, JSON.stringify(ack));
          assert.equal(ack.error.code, code);
          if (field !== undefined) assert.equal(ack.error.field, field);
          assert.ok(socket.connected);
        });
      }
    });

    describe('Socket.IO limits', () => {
      let limited: RunningGateway;
      const sockets: { close(): void }[] = [];
      const connect = async () => {
        const connected = await connectSocket(limited.url, TOKENS.alpha);
        sockets.push(connected.socket);
        return connected;
      };

      before(async () => {
        limited = await startGateway(
          suiteConfig({
            socket: { maxFollowed: 1, maxStdinBytes: 16, disconnectGraceMs: 100 },
            limits: { maxima: { ...maxima, outputBytes: 64 * 1024 * 1024 } },
          }),
          backend,
        );
      });

      afterEach(() => {
        for (const socket of sockets.splice(0)) socket.close();
      });

      after(async () => {
        await limited?.close();
      });

      it('should refuse stdin with 413 when an execution has received its cap', async () => {
        const { socket, recorder } = await connect();
        const id = ackId(
          await emitWithAck(socket, 'run', { runtime: 'python', source: 'print(input())\n', interactive: true }),
        );
        runs.push({ token: TOKENS.alpha, id });

        assert.deepEqual(await emitWithAck(socket, 'stdin', { id, data: '0123456789' }), { id });
        const refused = await emitWithAck(socket, 'stdin', { id, data: '0123456789\n' });
        await emitWithAck(socket, 'stdin', { id, data: '\n' });
        await recorder.untilExit(id);

        assert.ok('error' in refused, JSON.stringify(refused));
        assert.equal(refused.error.code, 'payload_too_large');
        assert.equal(recorder.stdout(id), '0123456789\n');
      });

      it('should refuse to follow more executions than maxFollowed when one socket asks', async () => {
        const { socket, recorder } = await connect();
        const id = ackId(
          await emitWithAck(socket, 'run', { runtime: 'python', source: 'input()\n', interactive: true }),
        );
        runs.push({ token: TOKENS.alpha, id });

        const refused = await emitWithAck(socket, 'run', { runtime: 'python', source: 'print(1)\n' });
        await emitWithAck(socket, 'stdin:end', { id });
        await recorder.untilExit(id);

        assert.ok('error' in refused, JSON.stringify(refused));
        assert.equal(refused.error.code, 'too_many_requests');
      });

      it('should hold output back by bytes, escaped control characters counted, when a client stops reading', async () => {
        // Control characters: JSON writes each as six bytes (\u0001), so few packets weigh a lot.
        const outputBytes = 4 * 1024 * 1024;
        const { socket, recorder } = await connect();
        const id = ackId(
          await emitWithAck(socket, 'run', {
            runtime: 'python',
            source: `import sys\ninput()\nline = "\\x01" * 1023 + "\\n"\nfor _ in range(${outputBytes / 1024}):\n    sys.stdout.write(line)\n`,
            interactive: true,
            limits: { outputBytes: outputBytes * 2, wallTimeMs: 60_000 * timeScale },
          }),
        );
        runs.push({ token: TOKENS.alpha, id });
        const serverSocket = limited.gateway.io.sockets.sockets.get(socket.id ?? '');
        assert.ok(serverSocket);
        let mostWaitingBytes = 0;
        serverSocket.conn.on('packetCreate', () => {
          mostWaitingBytes = Math.max(mostWaitingBytes, waitingBytes(serverSocket));
        });
        const transport = socket.io.engine.transport as unknown as { ws: { _socket: NodeJS.ReadableStream } };

        transport.ws._socket.pause();
        socket.emit('stdin', { id, data: '\n' });
        const result = await untilTerminal(limited.url, TOKENS.alpha, id);
        transport.ws._socket.resume();
        await recorder.untilExit(id);

        assert.equal(result.reason, 'Completed', JSON.stringify({ ...result, stdout: result.stdout.length }));
        assert.equal(recorder.stdout(id).length, outputBytes);
        // The mark, plus what one event may carry past it (a chunk, escaped) and the packet framing.
        const highWaterBytes = parseConfig({}).socket.highWaterBytes ?? 1024 * 1024;
        const bound = highWaterBytes + 6 * 16 * 1024 + 4096;
        assert.ok(mostWaitingBytes <= bound, `${mostWaitingBytes} bytes waited in the gateway, more than ${bound}`);
      });

      it('should cancel an interactive execution when its socket is gone past the grace', async () => {
        const { socket } = await connect();
        const id = ackId(
          await emitWithAck(socket, 'run', { runtime: 'python', source: 'input()\n', interactive: true }),
        );
        runs.push({ token: TOKENS.alpha, id });

        socket.close();
        const result = await untilTerminal(limited.url, TOKENS.alpha, id);

        assert.equal(result.reason, 'Cancelled');
      });

      it('should let a non-interactive execution finish when its socket is gone', async () => {
        const { socket } = await connect();
        const id = ackId(
          await emitWithAck(socket, 'run', {
            runtime: 'python',
            source: 'import time\ntime.sleep(0.5)\nprint("done")\n',
          }),
        );

        socket.close();
        const result = await untilTerminal(limited.url, TOKENS.alpha, id);

        assert.equal(result.reason, 'Completed');
        assert.equal(result.stdout, 'done\n');
      });
    });

    describe('Socket.IO idle timeout', () => {
      let idle: RunningGateway;

      before(async () => {
        idle = await startGateway(suiteConfig({ socket: { idleTimeoutMs: 300 } }), backend);
      });

      after(async () => {
        await idle?.close();
      });

      it('should close a socket when it never runs anything', async () => {
        const { socket } = await connectSocket(idle.url, TOKENS.alpha);
        try {
          const reason = await new Promise<string>((resolve) => socket.once('disconnect', resolve));

          assert.equal(reason, 'io server disconnect');
        } finally {
          socket.close();
        }
      });
    });
  });
}
