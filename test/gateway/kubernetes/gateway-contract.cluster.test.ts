import assert from 'node:assert/strict';
import { DEFAULT_LIMITS, DEFAULT_MAX_LIMITS } from '../../../contract/index.js';
import { CONTAINER } from '../../../contract/objects.js';
import type { Config } from '../../../gateway/config.js';
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
import { contractSuite } from '../contract-suite.js';

// Needs the dev cluster with a Ready node (dev-cluster/up.sh) and the images of the default
// Runtimes on it. The gateway's contract suite, the same one the embedded backend passes, runs
// against the Kubernetes backend, with operator/main.ts started here watching a namespace of this
// run's own, where every tenant of the suite lives (kept apart by the tenant label).

const problem = nodeProblem();
const title = nodeSuiteTitle(
  problem,
  'gateway contract on Kubernetes',
  'needs the dev cluster with a Ready node, starts the operator',
);

const namespace = `sandpod-gw-contract-${process.pid}-${Date.now().toString(36)}`;
const TENANTS = ['alpha', 'beta', 'tiny', 'slow', 'capped', 'batch', 'default'];

function withTestNamespace(config: Config): Config {
  const namespaces = Object.fromEntries(TENANTS.map((tenant) => [tenant, namespace]));
  return { ...config, kubernetes: { ...config.kubernetes, namespaces } };
}

describe(title, function () {
  this.timeout(180_000);
  let operator: RunningOperator | undefined;

  before(async function () {
    if (problem) skipOrFail(this, problem);
    installCrds();
    createMissingRuntimes();
    warnOfRuntimesWithoutImages();
    createNamespace(namespace);
    operator = await startOperator(namespace, {
      pod: { runtimeClassName: runtimeClassExists('gvisor') ? 'gvisor' : '' },
      // The suite's socket limits ask for 48 MiB of output; the gateway checks tenant maxima first.
      limits: { defaults: DEFAULT_LIMITS, maxima: { ...DEFAULT_MAX_LIMITS, outputBytes: 64 * 1024 * 1024 } },
    });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && process.env.SANDPOD_TEST_OPERATOR_LOG) {
      console.error(operator?.output().slice(-20_000));
    }
  });

  after(async () => {
    await operator?.stop();
    if (!problem) deleteNamespace(namespace);
  });

  contractSuite('kubernetes backend', (config, log) =>
    createKubernetesBackend(withTestNamespace(config), log, loadKubeConfig()),
  );

  describe('live output through the attach', () => {
    const token = 'live-token-0123456789';

    it("should keep the pod's log the program's own output when its prompts went out through the attach", async () => {
      const config = withTestNamespace(
        parseConfig({ backend: 'kubernetes', tenants: [{ name: 'alpha', tokenSha256: [sha256Hex(token)] }] }),
      );
      const backend = await createKubernetesBackend(config, testLogger(), loadKubeConfig());
      const gateway = await startGateway(config, backend);
      const { socket, recorder } = await connectSocket(gateway.url, token);
      try {
        const source = 'a = input("a? ")\nprint("got", a, flush=True)\nimport sys\nsys.stdin.read()\n';
        const id = ackId(await emitWithAck(socket, 'run', { runtime: 'python', source, interactive: true }));
        await recorder.until(id, () => recorder.stdout(id) === 'a? ');
        await emitWithAck(socket, 'stdin', { id, data: '1\n' });
        await recorder.untilStdout(id, 'got 1\n');

        // The line is complete, so containerd has logged it; the gate byte went to the launcher.
        // The pod's status may still say the container is starting: the kubelet reports it late.
        const readLogs = () =>
          kubectl(['-n', namespace, 'logs', '-l', `sandpod.dev/execution=${id}`, '-c', CONTAINER.run]);
        let logs = readLogs();
        for (let tries = 0; !logs.ok && /waiting to start/.test(logs.out) && tries < 50; tries += 1) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          logs = readLogs();
        }
        await emitWithAck(socket, 'stdin:end', { id });
        const result = await recorder.untilExit(id);

        assert.ok(logs.ok, logs.out);
        assert.equal(logs.out, 'a? got 1\n');
        assert.equal(result.reason, 'Completed', JSON.stringify(result));
        // The streamed client's exit leaves the output out; the stored result keeps it.
        const stored = await api(`${gateway.url}/api/v1/executions/${id}`, token);
        assert.equal((stored.body as { stdout?: string }).stdout, 'a? got 1\n');
        assert.equal(recorder.stdout(id), 'a? got 1\n');
      } finally {
        socket.close();
        await gateway.close();
        await backend.close(0);
      }
    });
  });
});
