import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { ExecutionResult } from '../../../contract/index.js';
import { CALLBACK_ANNOTATION } from '../../../gateway/kubernetes/execution-deliveries.js';
import { type CallbackReceiver, startCallbackReceiver } from '../../helpers/callback-receiver.js';
import {
  type ClusterGateway,
  type ClusterNamespace,
  startClusterGateway,
  startClusterNamespace,
} from '../../helpers/cluster-gateway.js';
import { kubectl, nodeProblem, nodeSuiteTitle, skipOrFail } from '../../helpers/cluster-suite.js';
import { api, sha256Hex } from '../../helpers/gateway.js';

// Needs the dev cluster with a Ready node and the python Runtime's image. Callbacks of Executions
// made through gateway replicas on the Kubernetes backend, delivered to a receiver on 127.0.0.1:
// the delivery state lives in the Execution (annotation sandpod.dev/callback), so a replica that
// did not start the Execution delivers when the one that did is gone, and of two replicas one
// delivers.

const problem = nodeProblem();
const title = nodeSuiteTitle(problem, 'callbacks on Kubernetes', 'needs the dev cluster with a Ready node');

const TOKEN = 'callbacks-cluster-token-0123';
const SECRET = 'callbacks-cluster-secret-0123';
const TENANT = { name: 'alpha', tokenSha256: [sha256Hex(TOKEN)], callbackHosts: ['127.0.0.1'], callbackSecret: SECRET };
/** Quick retries, and replicas that look for deliveries left due often. */
const SETTINGS = { callbacks: { initialBackoffMs: 200, rescanMs: 300 } };

const signed = (body: string) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;

describe(title, function () {
  this.timeout(180_000);
  let cluster: ClusterNamespace | undefined;
  let receiver: CallbackReceiver | undefined;
  const replicas: ClusterGateway[] = [];
  const replica = async () => {
    const started = await startClusterGateway(cluster?.namespace ?? '', [TENANT], SETTINGS);
    replicas.push(started);
    return started;
  };
  const execution = (field: string, id: string) =>
    kubectl(['-n', cluster?.namespace ?? '', 'get', 'executions.sandpod.dev', id, '-o', `jsonpath={${field}}`]);
  const deliveryState = (id: string) => {
    const read = execution(`.metadata.annotations.${CALLBACK_ANNOTATION.replace(/\./g, '\\.')}`, id);
    return read.ok && read.out ? (JSON.parse(read.out) as { state: string; holder: string }) : undefined;
  };

  before(async function () {
    if (problem) skipOrFail(this, problem);
    cluster = await startClusterNamespace('sandpod-callbacks');
  });

  afterEach(async () => {
    for (const started of replicas.splice(0)) await started.close();
    await receiver?.close();
    receiver = undefined;
  });

  after(async () => {
    await cluster?.stop();
  });

  it("should deliver a judged Execution's signed result once, after two 500s, while two replicas run", async () => {
    receiver = await startCallbackReceiver([500, 500]);
    const first = await replica();
    await replica();
    const created = await api(`${first.url}/api/v1/executions`, TOKEN, {
      body: {
        runtime: 'python',
        source: 'print(int(input()) * 2)\n',
        tests: [
          { name: 'doubles', stdin: '2', expectedOutput: '4' },
          { name: 'wrong', stdin: '3', expectedOutput: '7' },
        ],
        callbackUrl: receiver.url,
      },
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const { id } = created.body as { id: string };

    const delivered = await receiver.delivered();

    assert.deepEqual(
      receiver.received.map((callback) => [callback.method, callback.status]),
      [
        ['POST', 500],
        ['POST', 500],
        ['POST', 200],
      ],
    );
    for (const callback of receiver.received) {
      assert.equal(callback.headers['x-sandpod-signature'], signed(callback.body));
      assert.equal(callback.headers['x-sandpod-delivery'], id);
    }
    const result = JSON.parse(delivered.body) as ExecutionResult;
    assert.equal(result.id, id);
    assert.equal(result.reason, 'WrongAnswer', delivered.body);
    assert.deepEqual(
      result.tests?.map((test) => [test.name, test.reason]),
      [
        ['doubles', 'Accepted'],
        ['wrong', 'WrongAnswer'],
      ],
    );
    assert.deepEqual(result.summary, { passed: 1, failed: 1, skipped: 0, total: 2 });
    // The receiver's 200 is marked in the Execution; until then a replica may still be writing it.
    let state = deliveryState(id);
    for (let tries = 0; state?.state !== 'done' && tries < 100; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      state = deliveryState(id);
    }
    assert.equal(state?.state, 'done');
    // Both replicas look for deliveries due every 300 ms: several rounds, and none sends it again.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(receiver.received.length, 3);
  });

  it('should deliver the callback of an Execution that ended while no replica ran from the next one to start', async () => {
    receiver = await startCallbackReceiver([500]);
    const first = await replica();
    const created = await api(`${first.url}/api/v1/executions`, TOKEN, {
      body: { runtime: 'python', source: 'print("after the restart")\n', callbackUrl: receiver.url },
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const { id } = created.body as { id: string };
    await first.close();
    replicas.splice(replicas.indexOf(first), 1);

    const ended = kubectl([
      '-n',
      cluster?.namespace ?? '',
      'wait',
      `executions.sandpod.dev/${id}`,
      '--for=jsonpath={.status.phase}=Succeeded',
      '--timeout=50s',
    ]);
    assert.ok(ended.ok, ended.out);
    assert.equal(receiver.received.length, 0, 'no replica ran when it ended');
    assert.equal(deliveryState(id), undefined);

    await replica();
    const delivered = await receiver.delivered();

    assert.deepEqual(
      receiver.received.map((callback) => callback.status),
      [500, 200],
    );
    assert.equal(delivered.headers['x-sandpod-delivery'], id);
    assert.equal(delivered.headers['x-sandpod-signature'], signed(delivered.body));
    const result = JSON.parse(delivered.body) as ExecutionResult;
    assert.equal(result.reason, 'Completed', delivered.body);
    assert.equal(result.stdout, 'after the restart\n');
  });
});
