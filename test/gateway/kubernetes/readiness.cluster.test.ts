import assert from 'node:assert/strict';
import { DEFAULT_LIMITS } from '../../../contract/index.js';
import { parseConfig } from '../../../gateway/config.js';
import type { KubernetesBackend } from '../../../gateway/kubernetes/backend.js';
import { createKubernetesBackend } from '../../../gateway/kubernetes/index.js';
import {
  clusterProblem,
  createNamespace,
  deleteNamespace,
  installCrds,
  kubectl,
  loadKubeConfig,
  skipOrFail,
} from '../../helpers/cluster-suite.js';
import { testLogger } from '../../helpers/gateway.js';
import { Relay } from '../../helpers/relay.js';

// Needs a control plane only. The backend talks to the dev cluster's API server through a TCP
// relay this test can cut and restore, to see readiness fall with a reason and come back.

const problem = clusterProblem();
const title = problem
  ? `Kubernetes backend readiness — SKIPPED, NO CLUSTER: ${problem}`
  : 'Kubernetes backend readiness when the API server goes away (needs the dev cluster API server)';

const run = `${process.pid}-${Date.now().toString(36)}`;
const namespace = `sandpod-gw-ready-${run}`;
const runtimeName = `gwready-${run}`;

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe(title, function () {
  this.timeout(60_000);
  let relay: Relay;
  let backend: KubernetesBackend;

  before(async function () {
    if (problem) skipOrFail(this, problem);
    installCrds();
    createNamespace(namespace);
    const runtime = {
      apiVersion: 'sandpod.dev/v1alpha1',
      kind: 'Runtime',
      metadata: { name: runtimeName },
      spec: { image: 'sandpod.local/python:3.11', version: '3.11', fileName: 'main.py', run: ['python3', 'main.py'] },
    };
    assert.ok(kubectl(['create', '-f', '-'], JSON.stringify(runtime)).ok);
    const kubeConfig = loadKubeConfig();
    const cluster = kubeConfig.getCurrentCluster();
    assert.ok(cluster);
    relay = new Relay(new URL(cluster.server));
    await relay.restore();
    kubeConfig.clusters = kubeConfig.clusters.map((entry) =>
      entry.name === cluster.name ? { ...entry, server: `https://127.0.0.1:${relay.port}` } : entry,
    );
    const config = parseConfig({
      backend: 'kubernetes',
      kubernetes: {
        namespaces: { alpha: namespace },
        watch: 'all',
        rewatchBaseDelayMs: 100,
        rewatchMaxDelayMs: 500,
        probeTimeoutMs: 1_000,
      },
    });
    backend = await createKubernetesBackend(config, testLogger(), kubeConfig);
  });

  after(async () => {
    if (problem) return;
    await backend?.close(0);
    await relay?.cut();
    deleteNamespace(namespace);
    kubectl(['delete', 'runtimes.sandpod.dev', runtimeName, '--ignore-not-found']);
  });

  it('should be unready with a reason while the API server is unreachable, and ready again after', async () => {
    assert.deepEqual(await backend.readiness(), { ready: true });

    await relay.cut();
    const down = await backend.readiness();

    assert.equal(down.ready, false);
    assert.match(down.reason ?? '', /127\.0\.0\.1|ECONNREFUSED|watch/);
    await relay.restore();
    await until(async () => (await backend.readiness()).ready, 'the backend is ready again');
  });

  it('should see new Executions through its watch when the API server is back', async () => {
    await until(async () => (await backend.runtimes()).some((r) => r.name === runtimeName), 'the Runtime is listed');
    const { id } = await backend.start('alpha', {
      runtime: runtimeName,
      source: '',
      limits: { ...DEFAULT_LIMITS },
    });
    const waiting = backend.wait('alpha', id);

    const patched = kubectl([
      '-n',
      namespace,
      'patch',
      'executions.sandpod.dev',
      id,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { phase: 'Succeeded', reason: 'Completed', exitCode: 0 } }),
    ]);
    assert.ok(patched.ok, patched.out);

    assert.equal((await waiting)?.reason, 'Completed');
  });

  it('should answer 503 when starting an execution while the API server is unreachable', async () => {
    await relay.cut();
    try {
      await assert.rejects(
        backend.start('alpha', { runtime: runtimeName, source: '', limits: { ...DEFAULT_LIMITS } }),
        { status: 503 },
      );
    } finally {
      await relay.restore();
    }
  });
});
