import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { WebSocketServer } from 'ws';
import type { ExecutionObject } from '../../../contract/objects.js';
import { LiveAttaches } from '../../../gateway/kubernetes/live-attaches.js';
import { type PendingStdinApi, pendingStdinOf, pendingStdinStore } from '../../../gateway/kubernetes/pending-stdin.js';
import type { ObjectWatch } from '../../../kube/watched-objects.js';
import { encodeLiveStdin } from '../../../sandbox/launcher/bundle.js';
import { testLogger } from '../../helpers/gateway.js';

// Two replicas' attaches to one execution, against a loopback WebSocket server that speaks the
// attach protocol (v5.channel.k8s.io) as the API server does, and an Execution kept in memory
// with resourceVersion checks: what each attach writes to the container's stdin is recorded.

const ref = { namespace: 'ns', name: 'ex-a' };
const STDIN = 0;
const CLOSE = 255;

function execution(stdinRecords = false): ExecutionObject {
  return {
    apiVersion: 'sandpod.dev/v1alpha1',
    kind: 'Execution',
    metadata: { name: ref.name, namespace: ref.namespace, resourceVersion: '1' },
    spec: { runtime: 'python', source: 'print(1)', interactive: true },
    status: { phase: 'Pending', podName: 'ex-a-run', ...(stdinRecords ? { stdinRecords: true } : {}) },
  } as unknown as ExecutionObject;
}

/** The Execution in memory: its watch (one object) and merge patches of annotations. */
function memoryCluster(stdinRecords = false) {
  const object = execution(stdinRecords);
  const listeners = new Set<(execution: ExecutionObject | undefined) => void>();
  const watch: ObjectWatch<ExecutionObject> = {
    problem: undefined,
    get: () => structuredClone(object),
    list: () => [structuredClone(object)],
    subscribe: (_namespace, _name, listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop: async () => undefined,
  };
  const api: PendingStdinApi = {
    readWhole: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return structuredClone(object);
    },
    patch: async (_ref, body) => {
      await new Promise((resolve) => setImmediate(resolve));
      const patch = body as { metadata: { resourceVersion?: string; annotations: Record<string, string> } };
      if (patch.metadata.resourceVersion !== object.metadata.resourceVersion) {
        throw Object.assign(new Error('conflict'), { code: 409 });
      }
      object.metadata.annotations = { ...object.metadata.annotations, ...patch.metadata.annotations };
      object.metadata.resourceVersion = String(Number(object.metadata.resourceVersion) + 1);
      for (const listener of listeners) listener(structuredClone(object));
    },
  };
  return { object, watch, api };
}

describe('LiveAttaches with input pending in the Execution', function () {
  this.timeout(20_000);
  let server: WebSocketServer;
  let kubeConfig: KubeConfig;
  /** Whether the container accepts attaches yet; refused ones get a Failure status. */
  let running: boolean;
  /** What reached the container's stdin, over every attach, in order; `EOF` when closed. */
  let received: string[];
  const replicas: LiveAttaches[] = [];

  before(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => 'v5.channel.k8s.io' });
    await new Promise((resolve) => server.once('listening', resolve));
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [
        { name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true },
      ],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    server.on('connection', (socket) => {
      if (!running) {
        const status = JSON.stringify({ status: 'Failure', message: 'container is waiting to start' });
        socket.send(Buffer.concat([Buffer.from([3]), Buffer.from(status)]));
        socket.close(1000);
        return;
      }
      socket.on('message', (data: Buffer) => {
        if (data[0] === STDIN) received.push(data.subarray(1).toString('utf8'));
        else if (data[0] === CLOSE && data[1] === STDIN) received.push('EOF');
      });
    });
  });

  beforeEach(() => {
    running = false;
    received = [];
  });

  afterEach(() => {
    for (const replica of replicas.splice(0)) replica.close();
  });

  after(async () => {
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  const replica = (cluster: ReturnType<typeof memoryCluster>) => {
    const attaches = new LiveAttaches({
      kubeConfig,
      pending: pendingStdinStore(cluster.api),
      executions: cluster.watch,
      read: async () => structuredClone(cluster.object),
      retryDelayMs: 20,
      maxRetryDelayMs: 50,
      windowBytes: 1024,
      log: testLogger(),
    });
    replicas.push(attaches);
    return attaches;
  };

  const until = async (what: string, check: () => boolean) => {
    for (let waited = 0; !check(); waited += 20) {
      if (waited > 10_000) assert.fail(`${what} did not happen; received ${JSON.stringify(received)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  it('should keep input acked before the container runs in the Execution, then send it once, in order, before later input', async () => {
    const cluster = memoryCluster();
    const one = replica(cluster);
    await one.stdin(ref, cluster.object, 'a');
    await one.stdin(ref, cluster.object, 'b');
    assert.deepEqual(pendingStdinOf(cluster.object).chunks, ['a', 'b']);
    assert.deepEqual(received, []);

    running = true;
    await until('the pending input sent on', () => received.length === 2);
    await one.stdin(ref, cluster.object, 'c');
    await one.stdin(ref, cluster.object, null);
    await until('the end of stdin', () => received.includes('EOF'));

    assert.deepEqual(received, ['a', 'b', 'c', 'EOF']);
    assert.deepEqual(pendingStdinOf(cluster.object), { chunks: [], taken: 2 });
  });

  it('should send input and its end as launcher records to a pod that keeps stdin open, never closing that stdin', async () => {
    const cluster = memoryCluster(true);
    const one = replica(cluster);
    await one.stdin(ref, cluster.object, 'a');
    running = true;
    await until('the pending input sent on', () => received.length === 1);
    await one.stdin(ref, cluster.object, 'b');
    await one.stdin(ref, cluster.object, null);
    await until('the end of stdin', () => received.length === 3);
    await new Promise((resolve) => setTimeout(resolve, 800));

    const record = (item: 'end' | string) =>
      encodeLiveStdin(item === 'end' ? 'end' : Buffer.from(item)).toString('utf8');
    assert.deepEqual(received, [record('a'), record('b'), record('end')]);
  });

  it('should have the other replica send what a closed replica acked and kept, once, when a client attaches there', async () => {
    const cluster = memoryCluster();
    const gone = replica(cluster);
    await gone.stdin(ref, cluster.object, 'first\n');
    await gone.stdin(ref, cluster.object, null);
    gone.close();

    const other = replica(cluster);
    running = true;
    other.resume(ref, cluster.object);
    await until('the end of stdin', () => received.includes('EOF'));
    // Another attach, or a second resume, finds nothing left to send.
    other.resume(ref, cluster.object);
    replica(cluster).resume(ref, cluster.object);
    await new Promise((resolve) => setTimeout(resolve, 800));

    assert.deepEqual(received, ['first\n', 'EOF']);
    assert.deepEqual(pendingStdinOf(cluster.object), { chunks: [], end: 'taken', taken: 1 });
    await assert.rejects(other.stdin(ref, cluster.object, 'late'), { code: 'stdin_closed' });
  });

  it('should send each pending chunk once when both replicas attach to the running container', async () => {
    const cluster = memoryCluster();
    const one = replica(cluster);
    const two = replica(cluster);
    await Promise.all([one.stdin(ref, cluster.object, '1'), two.stdin(ref, cluster.object, '2')]);
    await one.stdin(ref, cluster.object, '3');
    running = true;
    await until('every chunk sent on', () => received.length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 800));

    assert.deepEqual([...received].sort(), ['1', '2', '3']);
    // The chunks of one replica keep their order.
    assert.ok(received.indexOf('1') < received.indexOf('3'), JSON.stringify(received));
  });
});
