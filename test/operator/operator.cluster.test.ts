import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Needs a control plane: the dev cluster of `make dev-cluster` (KUBECONFIG, or .sandpod/kubeconfig)
// and kubectl (SANDPOD_KUBECTL, .sandpod/bin.env, or PATH). Runs the real operator as a child
// process against it, confined to a namespace of its own (WATCH_NAMESPACE), with a Runtime of its
// own name, and removes both at the end. Programs are not expected to run here (see the node tests):
// what is checked is the operator's handling of Executions and pods through the real API server.

const repo = fileURLToPath(new URL('../../', import.meta.url));
const kubeconfig = process.env.KUBECONFIG ?? join(repo, '.sandpod/kubeconfig');
const kubectlPath = process.env.SANDPOD_KUBECTL ?? kubectlFromEnvFile() ?? 'kubectl';
const namespace = `sandpod-op-test-${process.pid}`;
const runtimeName = `op-test-${process.pid}`;

function kubectlFromEnvFile(): string | undefined {
  const envFile = join(repo, '.sandpod/bin.env');
  if (!existsSync(envFile)) return undefined;
  return /^SANDPOD_KUBECTL=(.+)$/m.exec(readFileSync(envFile, 'utf8'))?.[1];
}

function kubectl(args: string[], input?: string): { ok: boolean; out: string } {
  const result = spawnSync(kubectlPath, args, {
    env: { ...process.env, KUBECONFIG: kubeconfig },
    input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { ok: result.status === 0, out: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

function json<T>(args: string[]): T {
  const result = kubectl([...args, '-o', 'json']);
  assert.ok(result.ok, result.out);
  return JSON.parse(result.out) as T;
}

/**
 * @kubernetes/client-node 2.0.1 loads undici 8, which needs Node >= 22.19; on older Node the
 * project's stand-ins (gateway/kubernetes/node20-compat.ts) are loaded first, while they exist.
 */
const compatShim = join(repo, 'gateway/kubernetes/node20-compat.ts');
const nodeImports = ['--import=tsx', ...(existsSync(compatShim) ? [`--import=${compatShim}`] : [])];

/** The operator can only start where @kubernetes/client-node loads. */
function clientLoads(): boolean {
  const load = "import('@kubernetes/client-node').then(() => process.exit(0), () => process.exit(1))";
  return spawnSync(process.execPath, [...nodeImports, '-e', load], { cwd: repo }).status === 0;
}

async function eventually<T>(what: string, read: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
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
  const operators: ChildProcess[] = [];
  const logs: string[] = [];

  function startOperator(): ChildProcess {
    const child = spawn(process.execPath, [...nodeImports, join(repo, 'operator/main.ts')], {
      cwd: repo,
      env: {
        ...process.env,
        KUBECONFIG: kubeconfig,
        SANDPOD_OPERATOR_CONFIG: join(workDir, 'operator.yaml'),
        POD_NAME: `operator-${operators.length}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const index = operators.length;
    logs[index] = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      logs[index] += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      logs[index] += chunk.toString();
    });
    operators.push(child);
    return child;
  }

  async function stopOperator(child: ChildProcess) {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  before(function () {
    if (!existsSync(kubeconfig) || !kubectl(['get', '--raw', '/readyz']).ok) this.skip();
    if (!clientLoads()) this.skip();
    assert.ok(kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(repo, 'manifests/crds/')]).ok);
    assert.ok(kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/executions.sandpod.dev']).ok);
    assert.ok(kubectl(['create', 'namespace', namespace]).ok);
    // An image no node has and no registry serves keeps pods Pending long enough to look at them.
    const runtime = {
      apiVersion: 'sandpod.dev/v1alpha1',
      kind: 'Runtime',
      metadata: { name: runtimeName },
      spec: {
        image: 'sandpod.local/runtime-missing:test',
        fileName: 'main.py',
        run: ['python3', 'main.py'],
        version: '0',
      },
    };
    assert.ok(kubectl(['apply', '-f', '-'], JSON.stringify(runtime)).ok);
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
    for (const child of operators) await stopOperator(child);
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
    await stopOperator(first);
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
    const leading = operators.filter(
      (child, index) => child.exitCode === null && /Acquired leader Lease/.test(logs[index] ?? ''),
    );
    assert.equal(leading.length, 1, logs.join('\n---\n'));
  });
});
