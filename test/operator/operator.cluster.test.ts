import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  clientLoads,
  clusterReachable,
  eventually,
  kubectl,
  missingImageRuntime,
  OperatorProcess,
  repo,
  skipOrFail,
} from './cluster.js';

// Needs a control plane: the dev cluster of `make dev-cluster` (KUBECONFIG, or .sandpod/kubeconfig)
// and kubectl (SANDPOD_KUBECTL, .sandpod/bin.env, or PATH). Runs the real operator as a child
// process against it, confined to a namespace of its own (WATCH_NAMESPACE), with a Runtime of its
// own name, and removes both at the end. Programs are not expected to run here (see the node tests):
// what is checked is the operator's handling of Executions and pods through the real API server.

const namespace = `sandpod-op-test-${process.pid}`;
const runtimeName = `op-test-${process.pid}`;

function json<T>(args: string[]): T {
  const result = kubectl([...args, '-o', 'json']);
  assert.ok(result.ok, result.out);
  return JSON.parse(result.out) as T;
}

interface ExecutionJson {
  metadata: { name: string };
  status?: { phase?: string; reason?: string; message?: string; podName?: string };
}
interface PodJson {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; controller?: boolean }[];
  };
  spec: Record<string, unknown> & {
    containers: { securityContext?: Record<string, unknown>; resources?: Record<string, unknown> }[];
  };
}

const execution = (name: string, spec: Record<string, unknown>) =>
  JSON.stringify({ apiVersion: 'sandpod.dev/v1alpha1', kind: 'Execution', metadata: { name, namespace }, spec });

const statusOf = (name: string) => {
  const result = kubectl(['get', 'ex', name, '-n', namespace, '-o', 'json']);
  return result.ok ? (JSON.parse(result.out) as ExecutionJson).status : undefined;
};

const terminal = (name: string) => () => {
  const status = statusOf(name);
  return status?.phase === 'Succeeded' || status?.phase === 'Failed' ? status : undefined;
};

describe('operator on the dev cluster (needs a control plane)', function () {
  this.timeout(240_000);
  const workDir = mkdtempSync(join(tmpdir(), 'sandpod-operator-test-'));
  const operators: OperatorProcess[] = [];

  const startOperator = () => {
    const operator = new OperatorProcess(join(workDir, 'operator.yaml'), `operator-${operators.length}`);
    operators.push(operator);
    return operator;
  };

  before(function () {
    if (!clusterReachable()) skipOrFail(this, 'no API server answers (dev-cluster/up.sh)');
    if (!clientLoads()) skipOrFail(this, '@kubernetes/client-node does not load on this Node.js');
    assert.ok(kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(repo, 'manifests/crds/')]).ok);
    assert.ok(kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/executions.sandpod.dev']).ok);
    assert.ok(kubectl(['create', 'namespace', namespace]).ok);
    assert.ok(kubectl(['apply', '-f', '-'], JSON.stringify(missingImageRuntime(runtimeName))).ok);
    writeFileSync(
      join(workDir, 'operator.yaml'),
      JSON.stringify({
        watchNamespace: namespace,
        pod: { runtimeClassName: '' },
        metrics: { port: 0, host: '127.0.0.1' },
        leaderElection: { leaseNamespace: namespace, leaseName: 'sandpod-operator-test', retryPeriodSeconds: 1 },
        status: { runtimeMissingSeconds: 3, podStartTimeoutSeconds: 40 },
        capacity: { maxRunningPerNamespace: 2 },
      }),
    );
    startOperator();
  });

  after(async () => {
    for (const operator of operators) await operator.stop();
    kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
    kubectl(['delete', 'runtime.sandpod.dev', runtimeName, '--ignore-not-found']);
    rmSync(workDir, { recursive: true, force: true });
  });

  it('should create one pod with the full security policy for an Execution', async () => {
    assert.ok(kubectl(['create', '-f', '-'], execution('policy', { runtime: runtimeName, source: 'print(1)' })).ok);
    const pod = await eventually('the pod', () => {
      const result = kubectl(['get', 'pod', 'policy-run', '-n', namespace, '-o', 'json']);
      return result.ok ? (JSON.parse(result.out) as PodJson) : undefined;
    });
    assert.equal(pod.metadata.labels?.['app.kubernetes.io/managed-by'], 'sandpod');
    assert.equal(pod.metadata.labels?.['sandpod.dev/execution'], 'policy');
    assert.equal(pod.metadata.ownerReferences?.[0]?.kind, 'Execution');
    assert.equal(pod.metadata.ownerReferences?.[0]?.controller, true);
    assert.equal(pod.spec.restartPolicy, 'Never');
    assert.equal(pod.spec.automountServiceAccountToken, false);
    assert.equal(pod.spec.enableServiceLinks, false);
    assert.equal(pod.spec.dnsPolicy, 'None');
    const security = pod.spec.containers[0]?.securityContext ?? {};
    assert.equal(security.readOnlyRootFilesystem, true);
    assert.equal(security.allowPrivilegeEscalation, false);
    assert.deepEqual(security.capabilities, { drop: ['ALL'] });
    const resources = pod.spec.containers[0]?.resources as { requests: unknown; limits: unknown };
    assert.deepEqual(resources.requests, resources.limits);
    const status = await eventually('podName in status', () => statusOf('policy')?.podName);
    assert.equal(status, 'policy-run');
  });

  it('should not make a second pod when the operator restarts mid-flight', async () => {
    const [first] = operators;
    assert.ok(first);
    await first.stop();
    startOperator();
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const pods = json<{ items: unknown[] }>(['get', 'pods', '-n', namespace, '-l', 'sandpod.dev/execution=policy']);
    assert.equal(pods.items.length, 1);
  });

  it('should end as Cancelled and delete the pod when spec.cancel is set', async () => {
    const patched = kubectl([
      'patch',
      'ex',
      'policy',
      '-n',
      namespace,
      '--type=merge',
      '-p',
      '{"spec":{"cancel":true}}',
    ]);
    assert.ok(patched.ok, patched.out);
    const status = await eventually('Cancelled', terminal('policy'));
    assert.equal(status.reason, 'Cancelled');
    await eventually('the pod gone', () =>
      kubectl(['get', 'pod', 'policy-run', '-n', namespace]).ok ? undefined : true,
    );
  });

  it('should refuse limits above the maximum with a message, without a pod', async () => {
    kubectl(
      ['create', '-f', '-'],
      execution('too-big', { runtime: runtimeName, source: 'x', limits: { memoryMiB: 4096 } }),
    );
    const status = await eventually('too-big to fail', terminal('too-big'));
    assert.equal(status.reason, 'SystemError');
    assert.match(status.message ?? '', /memoryMiB 4096 is above/);
    assert.equal(kubectl(['get', 'pod', 'too-big-run', '-n', namespace]).ok, false);
  });

  it('should neither mount nor delete an input Secret planted before the Execution', async () => {
    const planted = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'planted-input', namespace },
      stringData: { 'file-0': 'print("not the tenant\'s program")' },
    };
    assert.ok(kubectl(['create', '-f', '-'], JSON.stringify(planted)).ok);
    kubectl(['create', '-f', '-'], execution('planted', { runtime: runtimeName, source: 'print(1)' }));
    const status = await eventually('planted to fail', terminal('planted'));
    assert.equal(status.reason, 'SystemError');
    assert.match(status.message ?? '', /Secret planted-input already exists and is not owned by this Execution/);
    assert.equal(kubectl(['get', 'pod', 'planted-run', '-n', namespace]).ok, false, 'no pod mounts it');
    const kept = json<{ data: Record<string, string> }>(['get', 'secret', 'planted-input', '-n', namespace]);
    assert.match(Buffer.from(kept.data['file-0'] ?? '', 'base64').toString(), /not the tenant's program/);
  });

  it('should fail an Execution whose Runtime never appears, after the grace', async () => {
    kubectl(['create', '-f', '-'], execution('no-runtime', { runtime: 'no-such-language', source: 'x' }));
    const status = await eventually('no-runtime to fail', terminal('no-runtime'));
    assert.equal(status.reason, 'SystemError');
    assert.match(status.message ?? '', /no Runtime named no-such-language/);
  });

  it('should end a pod that cannot start as SystemError after the start timeout', async () => {
    kubectl(['create', '-f', '-'], execution('no-image', { runtime: runtimeName, source: 'x' }));
    const status = await eventually('no-image to fail', terminal('no-image'), 120_000);
    assert.equal(status.reason, 'SystemError');
    // Which symptom shows depends on the node: a failed pull seen before or after the pod deadline,
    // or no node ready to take the pod.
    assert.match(status.message ?? '', /Runtime's image|cannot be scheduled|did not start within|never started/);
  });

  it('should delete a finished Execution after its TTL', async () => {
    kubectl(
      ['create', '-f', '-'],
      execution('ttl', { runtime: runtimeName, source: 'x', cancel: true, ttlSecondsAfterFinished: 2 }),
    );
    await eventually(
      'ttl deleted',
      () => (kubectl(['get', 'ex', 'ttl', '-n', namespace]).ok ? undefined : true),
      30_000,
    );
  });

  it('should let only one of two replicas lead', async () => {
    startOperator();
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const leading = operators.filter((operator) => operator.running && /Acquired leader Lease/.test(operator.log));
    assert.equal(leading.length, 1, operators.map((operator) => operator.log).join('\n---\n'));
  });
});
