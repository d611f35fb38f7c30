import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { chartDir, ciValues, helm, helmPath, renderChart } from '../../charts/render.js';
import {
  createNamespace,
  deleteNamespace,
  installCrds,
  kubeconfigPath,
  kubectl,
  loadKubeConfig,
  nodeProblem,
  nodeSuiteTitle,
  repoPath,
  runtimeClassExists,
  runtimeNames,
  skipOrFail,
} from '../helpers/cluster-suite.js';
import { type LocalProcess, startLocal } from '../helpers/local-process.js';

// Needs the dev cluster with a Ready node and the default Runtimes' images on it. The chart is
// rendered and applied with server-side dry-run, then installed for real (`helm install`) as a
// release of this run's own, in namespaces of its own. The dev node cannot pull images, so the
// chart's Deployments are scaled to zero and the operator and gateway run here as local processes,
// configured from the ConfigMaps the release put in the cluster and authenticated as the release's
// own ServiceAccounts (tokens from `kubectl create token`), so its RBAC is what they get. A program
// sent to that gateway with the token of the release's tenant-tokens Secret must complete.
// Shared cluster-scoped objects (CRDs, Runtimes, RuntimeClass gvisor) are used as they are, never
// deleted; the release's own ClusterRoles go with `helm uninstall`.

const problem = nodeProblem();
const title = nodeSuiteTitle(
  problem,
  'helm install on the dev cluster',
  'needs the dev cluster with a Ready node; runs the operator and gateway locally',
);

const id = `sp-chart-${process.pid}-${Date.now().toString(36)}`;
const release = id;
const fullname = `${id}-sandpod`;
const systemNamespace = id;
const tenantNamespace = `${id}-tenant`;
const tenant = 'chart';

/**
 * The release's values: charts/sandpod/ci/dev-cluster-values.yaml (what the dev cluster cannot or
 * must not take: no pods of the chart, the shared RuntimeClass and Runtimes left alone, no seccomp
 * installer), with this run's own tenant and namespace.
 */
function installValues(): Record<string, unknown> {
  const devCluster = yaml.load(readFileSync(ciValues('dev-cluster'), 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;
  return {
    ...devCluster,
    operator: { ...devCluster.operator, watchNamespace: tenantNamespace },
    tenants: [{ name: tenant, namespace: tenantNamespace, createNamespace: false }],
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A kubeconfig that authenticates as one of the release's ServiceAccounts. */
function serviceAccountKubeconfig(dir: string, account: string): string {
  const token = kubectl(['create', 'token', account, '-n', systemNamespace, '--duration=1h']);
  assert.ok(token.ok, token.out);
  const cluster = loadKubeConfig().getCurrentCluster();
  assert.ok(cluster, 'the dev cluster kubeconfig names no cluster');
  const file = path.join(dir, `${account}.kubeconfig`);
  writeFileSync(
    file,
    yaml.dump({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'dev',
          cluster: {
            server: cluster.server,
            ...(cluster.caData ? { 'certificate-authority-data': cluster.caData } : {}),
            ...(cluster.caFile ? { 'certificate-authority': cluster.caFile } : {}),
          },
        },
      ],
      users: [{ name: account, user: { token: token.out.trim() } }],
      contexts: [{ name: account, context: { cluster: 'dev', user: account } }],
      'current-context': account,
    }),
  );
  return file;
}

function configMapFile(name: string, key: string): string {
  const read = kubectl(['get', 'configmap', name, '-n', systemNamespace, '-o', 'json']);
  assert.ok(read.ok, read.out);
  const content = (JSON.parse(read.out) as { data?: Record<string, string> }).data?.[key];
  assert.ok(content, `ConfigMap ${name} has no ${key}`);
  return content;
}

function tokenSecretData(): Record<string, string> {
  const secret = kubectl(['get', 'secret', `${fullname}-tenant-tokens`, '-n', systemNamespace, '-o', 'json']);
  assert.ok(secret.ok, secret.out);
  return (JSON.parse(secret.out) as { data: Record<string, string> }).data;
}

describe(title, function () {
  this.timeout(600_000);
  let dir = '';
  let valuesFile = '';
  let installed = false;
  let operator: LocalProcess | undefined;
  let gateway: LocalProcess | undefined;
  let gatewayUrl = '';

  before(async function () {
    if (problem) skipOrFail(this, problem);
    helmPath();
    installCrds();
    dir = mkdtempSync(path.join(tmpdir(), 'sandpod-chart-test-'));
    valuesFile = path.join(dir, 'values.yaml');
    writeFileSync(valuesFile, yaml.dump(installValues()));
    createNamespace(systemNamespace);
    createNamespace(tenantNamespace);
  });

  after(async () => {
    if (problem) return;
    await gateway?.stop();
    await operator?.stop();
    if (installed) {
      const removed = helm(['uninstall', release, '--namespace', systemNamespace, '--kubeconfig', kubeconfigPath]);
      if (!removed.ok) console.error(`helm uninstall ${release}: ${removed.stderr}`);
    }
    deleteNamespace(tenantNamespace);
    deleteNamespace(systemNamespace);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') {
      console.error(`operator log:\n${operator?.output().slice(-8_000) ?? ''}`);
      console.error(`gateway log:\n${gateway?.output().slice(-8_000) ?? ''}`);
    }
  });

  it('should have every rendered object accepted by the API server in a server-side dry run', () => {
    // The full default render, Runtimes, RuntimeClass, seccomp installer and CRDs included, as a
    // fresh cluster would receive it (nothing is stored: --dry-run=server).
    const documents = renderChart({
      release,
      namespace: systemNamespace,
      includeCrds: true,
      valuesFiles: [valuesFile],
      set: [
        'operator.replicas=2',
        'gateway.replicas=2',
        'executions.runtimeClass.create=true',
        'executions.seccomp.type=Localhost',
        'runtimes.create=true',
      ],
    });
    const manifest = documents.map((document) => yaml.dump(document.object)).join('---\n');
    const applied = kubectl(['apply', '--server-side', '--dry-run=server', '--force-conflicts', '-f', '-'], manifest);
    assert.ok(applied.ok, applied.out);
    const kinds = new Set(documents.map((document) => document.object.kind));
    for (const kind of ['DaemonSet', 'RuntimeClass', 'Runtime', 'NetworkPolicy', 'ResourceQuota', 'LimitRange']) {
      assert.ok(kinds.has(kind), `the dry run had no ${kind}`);
    }
  });

  it('should have the objects of every optional part accepted in a server-side dry run', () => {
    // Ingress, autoscaler, LoadBalancer Service, RuntimeClass overhead and scheduling, node pools,
    // pull secrets. Objects in the example tenant namespaces (absent here) are left out, as they
    // are the same kinds the default dry run checked; ServiceMonitors and PrometheusRules need the
    // Prometheus Operator's CRDs, which the dev cluster has not.
    const documents = renderChart({
      release,
      namespace: systemNamespace,
      valuesFiles: [ciValues('all-features')],
    }).filter(
      ({ object }) =>
        object.kind !== 'ServiceMonitor' &&
        object.kind !== 'PrometheusRule' &&
        object.kind !== 'Namespace' &&
        (object.metadata.namespace === undefined || object.metadata.namespace === systemNamespace),
    );
    const kinds = new Set(documents.map((document) => document.object.kind));
    for (const kind of ['Ingress', 'HorizontalPodAutoscaler', 'RuntimeClass', 'DaemonSet', 'Deployment']) {
      assert.ok(kinds.has(kind), `the dry run had no ${kind}`);
    }
    const manifest = documents.map((document) => yaml.dump(document.object)).join('---\n');
    const applied = kubectl(['apply', '--server-side', '--dry-run=server', '--force-conflicts', '-f', '-'], manifest);
    assert.ok(applied.ok, applied.out);
  });

  /** What install and upgrade both name: the release, the chart, its namespace, values and cluster. */
  const releaseArgs = () => [
    release,
    chartDir,
    '--namespace',
    systemNamespace,
    '--values',
    valuesFile,
    '--kubeconfig',
    kubeconfigPath,
  ];

  it('should install as a Helm release', () => {
    const result = helm(['install', ...releaseArgs(), '--timeout', '120s']);
    installed = result.ok;
    assert.ok(result.ok, result.stderr);
    assert.match(result.stdout, /STATUS: deployed/);
    assert.match(result.stdout, /Run a first program/, 'NOTES.txt says how to run a program');
    for (const [kind, namespace, name] of [
      ['networkpolicy', tenantNamespace, 'sandpod-executions-deny-all'],
      ['resourcequota', tenantNamespace, 'sandpod-tenant'],
      ['limitrange', tenantNamespace, 'sandpod-tenant'],
      ['rolebinding', tenantNamespace, `${fullname}-gateway`],
      ['rolebinding', tenantNamespace, `${fullname}-operator`],
      ['secret', systemNamespace, `${fullname}-tenant-tokens`],
    ] as const) {
      const found = kubectl(['get', kind, name, '-n', namespace]);
      assert.ok(found.ok, found.out);
    }
  });

  it('should run the operator and gateway from what the release installed, as its ServiceAccounts', async () => {
    assert.ok(installed, 'the release is not installed');
    // Localhost ports only, so the local processes collide with nothing else on this machine.
    const operatorConfig = yaml.load(configMapFile(`${fullname}-operator`, 'operator.yaml')) as Record<string, unknown>;
    const operatorFile = path.join(dir, 'operator.yaml');
    writeFileSync(operatorFile, yaml.dump({ ...operatorConfig, metrics: { host: '127.0.0.1', port: 0 } }));
    const gatewayFile = path.join(dir, 'gateway.yaml');
    writeFileSync(gatewayFile, configMapFile(`${fullname}-gateway`, 'gateway.yaml'));

    const missing = ['python'].filter((name) => !runtimeNames().includes(name));
    if (missing.length > 0) {
      const created = kubectl(['create', '-f', repoPath('manifests/runtimes/python.yaml')]);
      assert.ok(created.ok || /AlreadyExists/.test(created.out), created.out);
    }

    operator = await startLocal(
      'operator/main.ts',
      {
        KUBECONFIG: serviceAccountKubeconfig(dir, `${fullname}-operator`),
        SANDPOD_OPERATOR_CONFIG: operatorFile,
        POD_NAME: `${fullname}-operator-local`,
        POD_NAMESPACE: systemNamespace,
        // Without gVisor on the node the pods run under runc, as the other cluster suites do.
        ...(runtimeClassExists('gvisor') ? {} : { SANDPOD_RUNTIME_CLASS: '' }),
      },
      /Synced caches/,
    );
    assert.match(operator.output(), /Acquired leader Lease/, 'leader election through the release Role');
    const port = await freePort();
    gateway = await startLocal(
      'gateway/main.ts',
      {
        KUBECONFIG: serviceAccountKubeconfig(dir, `${fullname}-gateway`),
        SANDPOD_CONFIG: gatewayFile,
        HOST: '127.0.0.1',
        PORT: String(port),
      },
      /Started gateway/,
    );
    gatewayUrl = `http://127.0.0.1:${port}`;
    for (let attempt = 0; attempt < 60; attempt++) {
      const ready = await fetch(`${gatewayUrl}/readyz`).catch(() => undefined);
      if (ready?.ok) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.fail(`the gateway never became ready:\n${gateway.output()}`);
  });

  it("should complete an Execution sent to the installed gateway with the release's tenant token", async () => {
    assert.ok(gatewayUrl, 'the gateway is not running');
    const encoded = tokenSecretData()[tenant];
    assert.ok(encoded, `no token for tenant ${tenant}`);
    const token = Buffer.from(encoded, 'base64').toString();

    const anonymous = await fetch(`${gatewayUrl}/api/v1/runtimes`);
    assert.equal(anonymous.status, 401, 'a request without the token is refused');

    // As a client does: a 503 (the tenant's quota not yet counted in its new namespace) is tried
    // again after its Retry-After, a bounded number of times.
    const send = () =>
      fetch(`${gatewayUrl}/api/v1/executions?wait=true`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          runtime: 'python',
          source: 'print("installed by helm")',
          limits: { wallTimeMs: 20_000 },
        }),
      });
    let response = await send();
    for (let tries = 0; response.status === 503 && tries < 30; tries += 1) {
      await response.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, Number(response.headers.get('retry-after') ?? '1') * 1000));
      response = await send();
    }
    const result = (await response.json()) as { id: string; phase: string; reason: string; stdout: string };
    assert.equal(response.status, 200, JSON.stringify(result));
    assert.deepEqual([result.phase, result.reason, result.stdout], ['Succeeded', 'Completed', 'installed by helm\n']);
    const listed = kubectl(['get', 'executions.sandpod.dev', '-n', tenantNamespace, '-o', 'name']);
    assert.ok(listed.ok && listed.out.trim().length > 0, `no Execution in ${tenantNamespace}: ${listed.out}`);
  });

  it('should keep the tenant token and the gateway configuration across helm upgrade', () => {
    assert.ok(installed, 'the release is not installed');
    const before = [tokenSecretData(), configMapFile(`${fullname}-gateway`, 'gateway.yaml')];
    const upgraded = helm(['upgrade', ...releaseArgs()]);
    assert.ok(upgraded.ok, upgraded.stderr);
    assert.match(upgraded.stdout, /REVISION: 2/);
    assert.deepEqual([tokenSecretData(), configMapFile(`${fullname}-gateway`, 'gateway.yaml')], before);
  });
});
