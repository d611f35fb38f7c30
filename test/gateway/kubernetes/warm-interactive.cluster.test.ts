import assert from 'node:assert/strict';
import { DEFAULT_LIMITS, DEFAULT_MAX_LIMITS } from '../../../contract/index.js';
import { parseConfig } from '../../../gateway/config.js';
import { createKubernetesBackend } from '../../../gateway/kubernetes/index.js';
import { createMissingRuntimes, warnOfRuntimesWithoutImages } from '../../helpers/cluster-gateway.js';
import {
  createNamespace,
  deleteNamespace,
  installCrds,
  kubectl,
  loadKubeConfig,
  nodeProblem,
  nodeSuiteTitle,
  type RunningOperator,
  runtimeClassExists,
  skipOrFail,
  startOperator,
} from '../../helpers/cluster-suite.js';
import { ackId, api, connectSocket, emitWithAck, sha256Hex, startGateway, testLogger } from '../../helpers/gateway.js';

// Interactive Executions on warm pods, through the whole stack: a real socket.io-client talks to
// the gateway (Kubernetes backend), the operator (a child process watching a namespace of this
// run's own) claims a pod of a WarmPool, hands its launcher the program, and only then names the
// pod; the gateway's attach opens the program's gate and writes its input as records. What the
// client sees must be what a cold pod gives: the prompt before any newline, the echo of what it
// typed, the end of stdin, the exit; and status.warm says it ran warm.

const problem = nodeProblem();
const title = nodeSuiteTitle(
  problem,
  'interactive stdin on warm pods',
  'needs the dev cluster with a Ready node, starts the operator',
);

const namespace = `sandpod-gw-warm-live-${process.pid}-${Date.now().toString(36)}`;
const token = 'warm-live-token-0123456789';
const RUNTIMES = ['python', 'c'];

function readyPods(pool: string): number {
  const ready = kubectl(['get', 'wp', pool, '-n', namespace, '-o', 'jsonpath={.status.readyReplicas}']);
  return ready.ok ? Number(ready.out || 0) : 0;
}

/** Waits until the pool has a ready pod, so that the next Execution can be served warm. */
async function poolReady(pool: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (readyPods(pool) < 1) {
    if (Date.now() > deadline) throw new Error(`WarmPool ${pool} has no ready pod after 120 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const servedWarm = (id: string) =>
  kubectl(['get', 'ex', id, '-n', namespace, '-o', 'jsonpath={.status.warm}']).out.trim() === 'true';

describe(title, function () {
  this.timeout(240_000);
  let operator: RunningOperator | undefined;

  before(async function () {
    if (problem) skipOrFail(this, problem);
    installCrds();
    createMissingRuntimes();
    warnOfRuntimesWithoutImages();
    createNamespace(namespace);
    operator = await startOperator(namespace, {
      pod: { runtimeClassName: runtimeClassExists('gvisor') ? 'gvisor' : '', cpus: 0.25 },
      limits: { defaults: DEFAULT_LIMITS, maxima: DEFAULT_MAX_LIMITS },
    });
    for (const runtime of RUNTIMES) {
      const body = {
        apiVersion: 'sandpod.dev/v1alpha1',
        kind: 'WarmPool',
        metadata: { name: runtime, namespace },
        spec: { runtime, replicas: 1 },
      };
      const applied = kubectl(['apply', '-f', '-'], JSON.stringify(body));
      if (!applied.ok) throw new Error(applied.out);
    }
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(operator?.output().slice(-20_000));
  });

  after(async () => {
    await operator?.stop();
    if (!problem) deleteNamespace(namespace);
  });

  async function withGateway(
    test: (gateway: { url: string }, socket: Awaited<ReturnType<typeof connectSocket>>) => Promise<void>,
  ) {
    const config = parseConfig({
      backend: 'kubernetes',
      tenants: [{ name: 'alpha', tokenSha256: [sha256Hex(token)] }],
      kubernetes: { namespaces: { alpha: namespace } },
    });
    const backend = await createKubernetesBackend(config, testLogger(), loadKubeConfig());
    const gateway = await startGateway(config, backend);
    const connected = await connectSocket(gateway.url, token);
    try {
      await test(gateway, connected);
    } finally {
      connected.socket.close();
      await gateway.close();
      await backend.close(0);
    }
  }

  it('should show the prompt, echo what was typed and end at the end of stdin when the program runs warm', async () => {
    await poolReady('python');
    await withGateway(async (gateway, { socket, recorder }) => {
      // Reads to the end of stdin last: it ends only if the end of stdin reaches it.
      const source = 'a = input("a? ")\nprint("got", a, flush=True)\nimport sys\nprint(len(sys.stdin.read()))\n';
      const id = ackId(await emitWithAck(socket, 'run', { runtime: 'python', source, interactive: true }));
      await recorder.until(id, () => recorder.stdout(id) === 'a? ');
      await emitWithAck(socket, 'stdin', { id, data: 'warm\n' });
      await recorder.untilStdout(id, 'got warm\n');
      await emitWithAck(socket, 'stdin', { id, data: 'abc' });
      await emitWithAck(socket, 'stdin:end', { id });
      const result = await recorder.untilExit(id);

      assert.equal(result.reason, 'Completed', JSON.stringify(result));
      assert.equal(recorder.stdout(id), 'a? got warm\n3\n', 'the launcher frames stay out of the output');
      assert.equal(servedWarm(id), true, 'status.warm');
      const stored = await api(`${gateway.url}/api/v1/executions/${id}`, token);
      assert.equal((stored.body as { stdout?: string }).stdout, 'a? got warm\n3\n');
    });
  });

  it('should compile, then hand the live stdin to the program when a compiled program runs warm', async () => {
    await poolReady('c');
    await withGateway(async (_gateway, { socket, recorder }) => {
      const source =
        '#include <stdio.h>\nint main(void) { int a, b; printf("two numbers: "); fflush(stdout);\n' +
        ' if (scanf("%d %d", &a, &b) != 2) return 2; printf("%d\\n", a + b); return 0; }\n';
      const id = ackId(await emitWithAck(socket, 'run', { runtime: 'c', source, interactive: true }));
      await recorder.until(id, () => recorder.stdout(id) === 'two numbers: ');
      await emitWithAck(socket, 'stdin', { id, data: '2 40\n' });
      const result = await recorder.untilExit(id);

      assert.equal(result.reason, 'Completed', JSON.stringify(result));
      assert.equal(recorder.stdout(id), 'two numbers: 42\n');
      assert.equal(servedWarm(id), true, 'status.warm');
    });
  });

  it('should end a warm interactive program that waits for input when it is cancelled', async () => {
    await poolReady('python');
    await withGateway(async (_gateway, { socket, recorder }) => {
      const source = 'print("waiting", flush=True)\ninput()\n';
      const id = ackId(await emitWithAck(socket, 'run', { runtime: 'python', source, interactive: true }));
      await recorder.untilStdout(id, 'waiting\n');
      await emitWithAck(socket, 'cancel', { id });
      const result = await recorder.untilExit(id);

      assert.equal(result.reason, 'Cancelled', JSON.stringify(result));
      assert.equal(servedWarm(id), true, 'status.warm');
    });
  });
});
