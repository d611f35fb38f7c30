import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { DEFAULT_LIMITS, DEFAULT_MAX_LIMITS } from '../../../contract/index.js';
import { PENDING_STDIN_ANNOTATION } from '../../../gateway/kubernetes/pending-stdin.js';
import { createMissingRuntimes } from '../../helpers/cluster-gateway.js';
import {
  createNamespace,
  deleteNamespace,
  installCrds,
  kubeconfigPath,
  kubectl,
  nodeProblem,
  nodeSuiteTitle,
  type RunningOperator,
  runtimeClassExists,
  skipOrFail,
  startOperator,
} from '../../helpers/cluster-suite.js';
import { ackId, connectSocket, emitWithAck, sha256Hex } from '../../helpers/gateway.js';
import { type LocalProcess, startLocal } from '../../helpers/local-process.js';

// Needs the dev cluster with a Ready node and a working `python` Runtime. Two gateway replicas run
// as processes of their own (gateway/main.ts). Input acked by one of them before the program's
// container could take it must reach the program when that replica is SIGKILLed and the client
// goes on through the other: all of it, in order, once.

const problem = nodeProblem();
const title = nodeSuiteTitle(
  problem,
  'stdin handed over between gateway replicas on Kubernetes',
  'needs the dev cluster with a Ready node, starts two gateways and the operator',
);

const namespace = `sandpod-gw-stdin-${process.pid}-${Date.now().toString(36)}`;
const token = 'handoff-token-0123456789';
// Echoes all of its input back, then how many characters: a lost, doubled or reordered chunk shows.
const ECHO = 'import sys\ndata = sys.stdin.read()\nsys.stdout.write(data)\nprint("chars", len(data))\n';
// Echoes each line as it comes, then how many characters: shows what reached it, and when.
const LINES =
  'import sys\nn = 0\nfor line in sys.stdin:\n    n += len(line)\n    sys.stdout.write(line)\n    sys.stdout.flush()\nprint("chars", n)\n';

interface Replica {
  process: LocalProcess;
  url: string;
}

describe(title, function () {
  this.timeout(240_000);
  let dir = '';
  let operator: RunningOperator | undefined;
  const replicas: Replica[] = [];
  const sockets: { close(): void }[] = [];

  const startReplica = async (): Promise<Replica> => {
    const local = await startLocal(
      'gateway/main.ts',
      {
        KUBECONFIG: kubeconfigPath,
        SANDPOD_CONFIG: join(dir, 'gateway.yaml'),
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'debug',
      },
      /"message":"Started gateway"/,
    );
    const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)\/"/.exec(local.output())?.[1];
    assert.ok(url, `no url in the gateway's log:\n${local.output()}`);
    const replica = { process: local, url };
    replicas.push(replica);
    return replica;
  };

  const connect = async (replica: Replica) => {
    const connected = await connectSocket(replica.url, token);
    sockets.push(connected.socket);
    return connected;
  };

  /** Attaches through `replica`, types `data` and the end, and waits for the exit. */
  const finishThrough = async (replica: Replica, id: string, data: string) => {
    const { socket, recorder } = await connect(replica);
    assert.deepEqual(await emitWithAck(socket, 'attach', { id }), { id });
    assert.deepEqual(await emitWithAck(socket, 'stdin', { id, data }), { id });
    assert.deepEqual(await emitWithAck(socket, 'stdin:end', { id }), { id });
    return { result: await recorder.untilExit(id), stdout: () => recorder.stdout(id) };
  };

  const kill = async (replica: Replica) => {
    const exited = new Promise((resolve) => replica.process.child.once('exit', resolve));
    replica.process.child.kill('SIGKILL');
    await exited;
  };

  /** One field of the Execution, by kubectl's JSONPath. */
  const executionField = (id: string, path: string) =>
    kubectl(['-n', namespace, 'get', 'executions.sandpod.dev', id, '-o', `jsonpath={${path}}`]);

  const pendingAnnotation = (id: string) =>
    executionField(id, `.metadata.annotations.${PENDING_STDIN_ANNOTATION.replace(/\./g, '\\.')}`);

  const runOperator = async () => {
    operator = await startOperator(namespace, {
      pod: { runtimeClassName: runtimeClassExists('gvisor') ? 'gvisor' : '' },
      limits: { defaults: DEFAULT_LIMITS, maxima: DEFAULT_MAX_LIMITS },
    });
  };

  before(async function () {
    if (problem) skipOrFail(this, problem);
    installCrds();
    createMissingRuntimes();
    createNamespace(namespace);
    dir = mkdtempSync(join(tmpdir(), 'sandpod-stdin-handoff-'));
    writeFileSync(
      join(dir, 'gateway.yaml'),
      yaml.dump({
        backend: 'kubernetes',
        tenants: [{ name: 'alpha', tokenSha256: [sha256Hex(token)] }],
        kubernetes: { namespaces: { alpha: namespace } },
      }),
    );
  });

  afterEach(async function () {
    for (const socket of sockets.splice(0)) socket.close();
    if (this.currentTest?.state === 'failed') {
      for (const replica of replicas) console.error(replica.process.output().slice(-15_000));
      console.error(operator?.output().slice(-15_000));
    }
    for (const replica of replicas.splice(0)) await replica.process.stop();
    await operator?.stop();
    operator = undefined;
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (!problem) deleteNamespace(namespace);
  });

  it('should hand the program input acked by a replica that was killed before its pod existed, in order and once', async () => {
    // No operator yet: the Execution gets no pod, so no attach can take the input.
    const first = await startReplica();
    const second = await startReplica();
    const { socket: toFirst } = await connect(first);
    const id = ackId(await emitWithAck(toFirst, 'run', { runtime: 'python', source: ECHO, interactive: true }));
    assert.deepEqual(await emitWithAck(toFirst, 'stdin', { id, data: 'one\n' }), { id });
    assert.deepEqual(await emitWithAck(toFirst, 'stdin', { id, data: 'two €\n' }), { id });
    const held = pendingAnnotation(id);
    assert.ok(held.ok, held.out);
    assert.deepEqual(JSON.parse(held.out).chunks, ['one\n', 'two €\n']);

    await kill(first);
    await runOperator();

    const { result, stdout } = await finishThrough(second, id, 'three\n');

    const sent = 'one\ntwo €\nthree\n';
    const expected = `${sent}chars ${sent.length}\n`;
    assert.equal(result.reason, 'Completed', JSON.stringify(result));
    assert.equal(stdout(), expected);
    // Nothing left behind for another replica to send again.
    const after = pendingAnnotation(id);
    assert.deepEqual(JSON.parse(after.out).chunks, []);
  });

  it('should keep the program reading when the replica whose attach joined its container dies', async () => {
    // The first attach to join the container used to own its stdin (stdinOnce): when it ended,
    // the program read end of file, and input acked afterwards never reached it.
    await runOperator();
    const first = await startReplica();
    const second = await startReplica();
    const { socket: toFirst, recorder: onFirst } = await connect(first);
    const id = ackId(await emitWithAck(toFirst, 'run', { runtime: 'python', source: LINES, interactive: true }));
    assert.deepEqual(await emitWithAck(toFirst, 'stdin', { id, data: 'before\n' }), { id });
    await onFirst.untilStdout(id, 'before\n');
    await kill(first);

    const { result, stdout } = await finishThrough(second, id, 'after\n');

    assert.equal(result.reason, 'Completed', JSON.stringify(result));
    assert.equal(stdout(), 'before\nafter\nchars 13\n');
    assert.equal(executionField(id, '.status.stdinRecords').out, 'true');
  });

  it('should hand the program input acked right after the run when the replica dies at once', async () => {
    await runOperator();
    const first = await startReplica();
    const second = await startReplica();
    const { socket: toFirst } = await connect(first);
    const id = ackId(await emitWithAck(toFirst, 'run', { runtime: 'python', source: ECHO, interactive: true }));
    // Acked while the pod is being made, so kept in the Execution, then the replica goes.
    assert.deepEqual(await emitWithAck(toFirst, 'stdin', { id, data: 'early\n' }), { id });
    await kill(first);

    const { result, stdout } = await finishThrough(second, id, 'late\n');

    assert.equal(result.reason, 'Completed', JSON.stringify(result));
    assert.equal(stdout(), 'early\nlate\nchars 11\n');
  });
});
