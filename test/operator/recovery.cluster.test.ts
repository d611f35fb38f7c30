import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import {
  clusterProblem,
  createNamespace,
  deleteNamespace,
  installCrds,
  kubeconfigPath,
  kubectl,
  type RunningOperator,
  skipOrFail,
  startOperator,
} from '../helpers/cluster-suite.js';
import { Relay } from '../helpers/relay.js';
import { eventually, missingImageRuntime } from './cluster.js';

// Needs a control plane only. The operator reaches the API server through a TCP relay this test
// cuts and restores: its watches lose their connections and the API server is unreachable for a
// while. Once it is back, Executions made meanwhile and afterwards must still get their pods.
// Pods wait on an image no node has, so no node is needed: the pod and the Execution's podName are
// what show that the operator saw the Execution.

const problem = clusterProblem();
const title = problem
  ? `operator watches after a lost connection — SKIPPED, NO CLUSTER: ${problem}`
  : 'operator watches after a lost connection to the API server (needs the dev cluster API server)';

const run = `${process.pid}-${Date.now().toString(36)}`;
const namespace = `sandpod-op-recovery-${run}`;
const runtimeName = `op-recovery-${run}`;

const execution = (name: string) =>
  JSON.stringify({
    apiVersion: 'sandpod.dev/v1alpha1',
    kind: 'Execution',
    metadata: { name, namespace },
    spec: { runtime: runtimeName, source: 'print(1)' },
  });

/** The Execution's podName once the operator wrote it and the pod exists. */
function podOf(name: string): string | undefined {
  const status = kubectl(['get', 'executions.sandpod.dev', name, '-n', namespace, '-o', 'jsonpath={.status.podName}']);
  if (!status.ok || !status.out) return undefined;
  return kubectl(['get', 'pod', status.out, '-n', namespace]).ok ? status.out : undefined;
}

/** A copy of the dev cluster's kubeconfig whose API server is the relay. */
function kubeconfigThrough(relay: Relay, path: string): void {
  const config = yaml.load(readFileSync(kubeconfigPath, 'utf8')) as {
    clusters: { cluster: { server: string } }[];
  };
  for (const entry of config.clusters) entry.cluster.server = `https://127.0.0.1:${relay.port}`;
  writeFileSync(path, yaml.dump(config), { mode: 0o600 });
}

describe(title, function () {
  this.timeout(120_000);
  const workDir = mkdtempSync(join(tmpdir(), 'sandpod-op-recovery-'));
  let relay: Relay | undefined;
  let operator: RunningOperator | undefined;

  before(async function () {
    if (problem) skipOrFail(this, problem);
    installCrds();
    createNamespace(namespace);
    assert.ok(kubectl(['create', '-f', '-'], JSON.stringify(missingImageRuntime(runtimeName))).ok);
    const server = yaml.load(readFileSync(kubeconfigPath, 'utf8')) as { clusters: { cluster: { server: string } }[] };
    relay = new Relay(new URL(server.clusters[0]?.cluster.server ?? ''));
    await relay.restore();
    const relayed = join(workDir, 'kubeconfig');
    kubeconfigThrough(relay, relayed);
    operator = await startOperator(
      namespace,
      {
        pod: { runtimeClassName: '' },
        watch: { baseDelayMs: 200, maxDelayMs: 1_000 },
        queue: { baseDelayMs: 100, maxDelayMs: 1_000 },
      },
      { KUBECONFIG: relayed },
    );
  });

  after(async () => {
    if (problem) return;
    await operator?.stop();
    await relay?.cut();
    deleteNamespace(namespace);
    kubectl(['delete', 'runtimes.sandpod.dev', runtimeName, '--ignore-not-found']);
    rmSync(workDir, { recursive: true, force: true });
  });

  it('should reconcile Executions made while and after its connection was cut once it is back', async () => {
    assert.ok(kubectl(['create', '-f', '-'], execution('before-cut')).ok);
    assert.equal(await eventually('the pod of before-cut', () => podOf('before-cut')), 'before-cut-run');

    await relay?.cut();
    const losses = (kind: string) =>
      (operator?.output() ?? '')
        .split('\n')
        .filter((line) => line.includes('Lost watch; watching again') && line.includes(`"kind":"${kind}"`)).length;
    // Every watch noticed, and the Execution watch tried again and failed again while it was away.
    await eventually(
      'every watch to report its loss, and a failed restart',
      () => (losses('Pod') > 0 && losses('Runtime') > 0 && losses('Execution') > 1) || undefined,
      30_000,
    );
    assert.ok(kubectl(['create', '-f', '-'], execution('during-cut')).ok);
    await relay?.restore();
    assert.ok(kubectl(['create', '-f', '-'], execution('after-cut')).ok);

    const output = () => operator?.output() ?? '';
    assert.equal(
      await eventually('the pod of after-cut', () => podOf('after-cut')).catch((error: Error) => {
        throw new Error(`${error.message}\n${output().slice(-4_000)}`);
      }),
      'after-cut-run',
    );
    assert.equal(await eventually('the pod of during-cut', () => podOf('during-cut')), 'during-cut-run');
  });
});
