import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { ExecutionStatus } from '../../../contract/crd.js';
import type { ExecutionObject } from '../../../contract/objects.js';
import type { ExecutionEvent } from '../../../gateway/backend.js';
import { parseConfig } from '../../../gateway/config.js';
import { type FollowContext, followExecution } from '../../../gateway/kubernetes/follow.js';
import type { Listener, ObjectWatch } from '../../../kube/watched-objects.js';
import { testLogger } from '../../helpers/gateway.js';

// Following a running Execution's pod log against a stand-in API server on loopback: split
// streams, the fallback when the API server refuses them, a log cut short and opened again, and
// a log opened while the pod still starts.

const ref = { namespace: 'sandpod-alpha', name: 'ex-1' };
const LOG_PATH = '/api/v1/namespaces/sandpod-alpha/pods/ex-1-run/log';

type Handler = (stream: string | null, request: IncomingMessage, response: ServerResponse) => void;

class OneExecution implements ObjectWatch<ExecutionObject> {
  readonly problem = undefined;
  current: ExecutionObject;
  private readonly listeners = new Set<Listener<ExecutionObject>>();

  constructor(status: Partial<ExecutionStatus>) {
    this.current = this.make(status);
  }

  put(status: Partial<ExecutionStatus>): void {
    this.current = this.make(status);
    for (const listener of [...this.listeners]) listener(this.current);
  }

  get() {
    return this.current;
  }

  list() {
    return [this.current];
  }

  subscribe(_namespace: string, _name: string, listener: Listener<ExecutionObject>) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop() {}

  private make(status: Partial<ExecutionStatus>): ExecutionObject {
    return {
      apiVersion: 'sandpod.dev/v1alpha1',
      kind: 'Execution',
      metadata: { ...ref, creationTimestamp: new Date('2026-01-01T00:00:00Z') },
      spec: { runtime: 'python', source: '', limits: { outputBytes: 1000 } },
      status,
    };
  }
}

describe('following a pod log', () => {
  let server: Server;
  let handler: Handler;
  let requests: string[];
  let kubeConfig: KubeConfig;

  before(async () => {
    server = createServer((request, response) => {
      const url = new URL(request.url ?? '', 'http://localhost');
      requests.push(`${url.pathname}?${url.searchParams}`);
      if (url.pathname !== LOG_PATH || url.searchParams.get('container') !== 'run') {
        response.writeHead(404).end('{"message":"not found"}');
        return;
      }
      handler(url.searchParams.get('stream'), request, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [
        { name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true },
      ],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
  });

  beforeEach(() => {
    requests = [];
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const text = (events: ExecutionEvent[], stream: string) =>
    events.map((event) => (event.type === 'output' && event.stream === stream ? event.data : '')).join('');

  /** Follows until exit; the final status is written once `finishWhen` holds of what was sent. */
  const follow = async (
    watch: OneExecution,
    finish: Partial<ExecutionStatus>,
    finishWhen = (events: ExecutionEvent[]) => events.some((event) => event.type === 'output'),
  ) => {
    const ctx: FollowContext = {
      kubeConfig,
      executions: watch,
      settings: parseConfig({ kubernetes: { podRetryDelayMs: 20 } }).kubernetes,
      splitStreams: { refused: false },
      read: async () => watch.current,
      readWhole: async () => watch.current,
      log: testLogger(),
      now: () => new Date(),
    };
    const events: ExecutionEvent[] = [];
    let finished = false;
    for await (const event of followExecution(ctx, ref, () => true, new AbortController().signal)) {
      events.push(event);
      // The operator writes the final status once the pod ended; here, once the log was read.
      if (!finished && finishWhen(events)) {
        finished = true;
        setTimeout(() => watch.put(finish), 50);
      }
    }
    return { events, splitRefused: ctx.splitStreams.refused };
  };

  it('should read stdout and stderr apart when the API server splits streams', async () => {
    handler = (stream, _request, response) => {
      response.writeHead(200);
      response.end(stream === 'Stdout' ? 'out\n' : stream === 'Stderr' ? 'err\n' : 'both\n');
    };
    const watch = new OneExecution({ phase: 'Running', podName: 'ex-1-run' });

    const { events } = await follow(watch, {
      phase: 'Succeeded',
      reason: 'Completed',
      stdout: 'out\n',
      stderr: 'err\n',
    });

    assert.equal(text(events, 'stdout'), 'out\n');
    assert.equal(text(events, 'stderr'), 'err\n');
    assert.equal(events.at(-1)?.type, 'exit');
    assert.ok(requests.every((request) => request.includes('follow=true')));
  });

  it('should send stdout while the stderr log has not answered yet', async () => {
    // The kubelet answers a followed log only once the container wrote to that stream or ended:
    // a program that prints and then waits for input leaves the stderr log unanswered meanwhile.
    const held: ServerResponse[] = [];
    let stderrAnswered = false;
    const answerStderr = () => {
      if (stderrAnswered) return;
      stderrAnswered = true;
      for (const response of held) if (!response.headersSent) response.writeHead(200).end();
    };
    const fallback = setTimeout(answerStderr, 1000);
    handler = (stream, _request, response) => {
      if (stream === 'Stderr') {
        if (stderrAnswered) response.writeHead(200).end();
        else held.push(response);
        return;
      }
      response.writeHead(200);
      response.write('before\n');
      held.push(response);
    };
    const watch = new OneExecution({ phase: 'Running' });
    let stdoutBeforeStderr = false;

    const { events } = await follow(watch, { phase: 'Succeeded', reason: 'Completed', stdout: 'before\n' }, (sent) => {
      if (!text(sent, 'stdout').includes('before')) return false;
      stdoutBeforeStderr = !stderrAnswered;
      answerStderr();
      for (const response of held) response.end();
      return true;
    });
    clearTimeout(fallback);

    assert.equal(stdoutBeforeStderr, true);
    assert.equal(text(events, 'stdout'), 'before\n');
    assert.equal(events.at(-1)?.type, 'exit');
  });

  it('should follow both as stdout when the API server refuses stream=', async () => {
    handler = (stream, _request, response) => {
      if (stream) {
        response
          .writeHead(422, { 'content-type': 'application/json' })
          .end(
            JSON.stringify({ message: 'PodLogOptions "ex-1-run" is invalid: stream: Forbidden: may not be specified' }),
          );
        return;
      }
      response.writeHead(200).end('out\nerr\n');
    };
    const watch = new OneExecution({ phase: 'Running' });

    const { events, splitRefused } = await follow(watch, {
      phase: 'Failed',
      reason: 'NonZeroExit',
      stdout: 'out\nerr\n',
    });

    assert.equal(splitRefused, true);
    assert.equal(text(events, 'stdout'), 'out\nerr\n');
    assert.equal(text(events, 'stderr'), '');
  });

  it('should open a log cut short again and skip what it sent', async () => {
    let opened = 0;
    handler = (stream, _request, response) => {
      if (stream === 'Stderr') {
        response.writeHead(200).end();
        return;
      }
      opened += 1;
      response.writeHead(200);
      if (opened === 1) {
        response.write('first ');
        setTimeout(() => response.socket?.destroy(), 20);
      } else {
        response.end('first second\n');
      }
    };
    const watch = new OneExecution({ phase: 'Running' });

    const { events } = await follow(
      watch,
      { phase: 'Succeeded', reason: 'Completed', stdout: 'first second\n' },
      (sent) => text(sent, 'stdout').includes('second'),
    );

    assert.equal(text(events, 'stdout'), 'first second\n');
    assert.equal(opened, 2);
  });

  it('should open the log of a pod status names while Pending, retrying while its container waits', async () => {
    const refusals = { Stdout: 0, Stderr: 0 };
    handler = (stream, _request, response) => {
      const which = stream === 'Stderr' ? 'Stderr' : 'Stdout';
      if (refusals[which] < 3) {
        refusals[which] += 1;
        const message = `container "run" in pod "ex-1-run" is waiting to start: ContainerCreating`;
        response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ message }));
        return;
      }
      response.writeHead(200).end(which === 'Stdout' ? 'out\n' : 'err\n');
    };
    // The operator has created the pod but not yet seen it run.
    const watch = new OneExecution({ phase: 'Pending', podName: 'ex-1-run' });

    const { events } = await follow(
      watch,
      { phase: 'Succeeded', reason: 'Completed', stdout: 'out\n', stderr: 'err\n' },
      (sent) => text(sent, 'stdout') === 'out\n' && text(sent, 'stderr') === 'err\n',
    );

    assert.deepEqual(refusals, { Stdout: 3, Stderr: 3 });
    assert.equal(text(events, 'stdout'), 'out\n');
    assert.equal(text(events, 'stderr'), 'err\n');
    // Output says the program runs: Running comes before it, once, though status said so later.
    const kinds = events.map((event) => (event.type === 'status' ? event.phase : event.type));
    assert.deepEqual(kinds.slice(0, 3), ['Pending', 'Running', 'output']);
    assert.equal(kinds.filter((kind) => kind === 'Running').length, 1);
    assert.equal(events.at(-1)?.type, 'exit');
  });

  it('should not ask for a log before the pod is named, and ask once status names it', async () => {
    handler = (stream, _request, response) => {
      response.writeHead(200).end(stream === 'Stdout' ? 'hello\n' : '');
    };
    // Queued: the operator has not created the pod.
    const watch = new OneExecution({ phase: 'Pending', message: 'queued: 1 in line' });
    let requestsWhileQueued = -1;
    const naming = setTimeout(() => {
      requestsWhileQueued = requests.length;
      watch.put({ phase: 'Pending', podName: 'ex-1-run' });
    }, 200);

    const { events } = await follow(watch, { phase: 'Succeeded', reason: 'Completed', stdout: 'hello\n' });
    clearTimeout(naming);

    assert.equal(requestsWhileQueued, 0);
    assert.equal(text(events, 'stdout'), 'hello\n');
  });

  it('should send each byte once when one stream is refused after the other gave output', async () => {
    // The container starts between the two requests: stdout answers, stderr is refused; both are
    // opened again and the stdout log starts from its beginning.
    let stdoutOpens = 0;
    let stderrOpens = 0;
    handler = (stream, _request, response) => {
      if (stream === 'Stderr') {
        stderrOpens += 1;
        if (stderrOpens === 1) {
          setTimeout(() => {
            const message = 'container "run" in pod "ex-1-run" is waiting to start: ContainerCreating';
            response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ message }));
          }, 30);
          return;
        }
        response.writeHead(200).end('e\n');
        return;
      }
      stdoutOpens += 1;
      response.writeHead(200);
      if (stdoutOpens === 1) response.write('one\n');
      else response.end('one\ntwo\n');
    };
    const watch = new OneExecution({ phase: 'Pending', podName: 'ex-1-run' });

    const { events } = await follow(
      watch,
      { phase: 'Succeeded', reason: 'Completed', stdout: 'one\ntwo\n', stderr: 'e\n' },
      (sent) => text(sent, 'stdout').includes('two') && text(sent, 'stderr') === 'e\n',
    );

    assert.equal(stdoutOpens, 2);
    assert.equal(text(events, 'stdout'), 'one\ntwo\n');
    assert.equal(text(events, 'stderr'), 'e\n');
  });

  it('should send what status holds beyond the log when the log ended early', async () => {
    handler = (stream, _request, response) => {
      response.writeHead(200).end(stream === 'Stdout' ? 'par' : '');
    };
    const watch = new OneExecution({ phase: 'Running' });

    const { events } = await follow(watch, {
      phase: 'Succeeded',
      reason: 'Completed',
      stdout: 'partial and the rest\n',
    });

    assert.equal(text(events, 'stdout'), 'partial and the rest\n');
  });

  it("should show a warm pod's output without the launcher's frames and exit on its final status before the log ends", async () => {
    const open: ServerResponse[] = [];
    handler = (stream, _request, response) => {
      response.writeHead(200);
      // The launcher's word that it has the program, that the run starts, then the program's.
      if (stream === 'Stdout') response.write('\x1eSP c a 0\n\n\x1eSP c s 0\n\nhello\n');
      // The kubelet ends a followed log only when it next looks at the container: held open here.
      open.push(response);
    };
    const watch = new OneExecution({ phase: 'Running', podName: 'ex-1-run', warm: true });
    const { events } = await follow(watch, {
      phase: 'Succeeded',
      reason: 'Completed',
      podName: 'ex-1-run',
      warm: true,
      truncated: false,
      stdout: 'hello\nworld\n',
      stderr: '',
    });
    for (const response of open) response.end();
    assert.equal(text(events, 'stdout'), 'hello\nworld\n');
    assert.equal(events.at(-1)?.type, 'exit');
  });
});
