import assert from 'node:assert/strict';
import yaml from 'js-yaml';
import type { Socket as ClientSocket } from 'socket.io-client';
import type { ExecutionResult } from '../../../contract/index.js';
import { type Config, parseConfig, type TenantConfig } from '../../../gateway/config.js';
import type { KubernetesBackend } from '../../../gateway/kubernetes/backend.js';
import { createKubernetesBackend } from '../../../gateway/kubernetes/index.js';
import {
  createNamespace,
  deleteNamespace,
  installCrds,
  kubectl,
  loadKubeConfig,
  nodeProblem,
  nodeSuiteTitle,
  type RunningOperator,
  repoPath,
  runtimeClassExists,
  skipOrFail,
  startOperator,
} from '../../helpers/cluster-suite.js';
import {
  api,
  connectSocket,
  emitWithAck,
  type RunningGateway,
  sha256Hex,
  startGateway,
  testLogger,
} from '../../helpers/gateway.js';

// Needs the dev cluster with a Ready node. Two gateways in this process, each with its own
// Kubernetes backend, read their tenants from one Secret of this run's own and serve them from a
// namespace of this run's own, where operator/main.ts (started here) runs their Executions. The
// Secret is edited with kubectl while they run: tokens revoked, tenants added, garbage written.

const problem = nodeProblem();
const title = nodeSuiteTitle(
  problem,
  'tenants from a Secret on Kubernetes',
  'needs the dev cluster with a Ready node, starts the operator',
);

const run = `${process.pid}-${Date.now().toString(36)}`;
/** Executions of alpha, beta and shared; the operator watches this one. */
const namespace = `sandpod-gw-tenants-${run}`;
/** The namespace of a tenant added while the gateways run, to see its watch start. */
const addedNamespace = `sandpod-gw-added-${run}`;
/** Where the tenants Secret lives, as sandpod-system would hold it. */
const secretNamespace = `sandpod-gw-secret-${run}`;
const secretName = 'sandpod-tenants';

const TOKENS = {
  alpha: 'alpha-token-0123456789',
  alphaSpare: 'alpha-spare-token-0123456789',
  beta: 'beta-token-0123456789',
  shared: 'shared-token-0123456789',
  gamma: 'gamma-token-0123456789',
};

const tenant = (name: string, tokens: string[], more: Partial<TenantConfig> = {}): TenantConfig => ({
  name,
  tokenSha256: tokens.map(sha256Hex),
  namespace,
  ...more,
});

const FIRST_TENANTS = [
  tenant('alpha', [TOKENS.alpha, TOKENS.alphaSpare]),
  tenant('beta', [TOKENS.beta]),
  tenant('shared', [TOKENS.shared], { maxConcurrent: 2, ratePerSecond: 100, burst: 100 }),
];

/** Writes the Secret's key as the text given (YAML or not). */
function writeSecret(name: string, text: string): void {
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: secretNamespace },
    stringData: { 'tenants.yaml': text },
  };
  const applied = kubectl(['apply', '-f', '-'], JSON.stringify(secret));
  assert.ok(applied.ok, applied.out);
}

const writeTenants = (tenants: TenantConfig[]) => writeSecret(secretName, yaml.dump(tenants));

function gatewayConfig(secret = secretName): Config {
  return parseConfig({
    backend: 'kubernetes',
    kubernetes: {
      tenantsSecret: { namespace: secretNamespace, name: secret },
      rewatchBaseDelayMs: 200,
      rewatchMaxDelayMs: 1_000,
    },
    http: { cancelWaitMs: 5_000 },
    // Far past the suite's timeout: a socket that goes must have been sent away for its token.
    socket: { idleTimeoutMs: 3_600_000 },
  });
}

/** Polls until `check` holds; for what a watch delivers in its own time, never a timing claim. */
async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const SLEEPER = { runtime: 'python', source: 'import time\ntime.sleep(60)\n', limits: { wallTimeMs: 90_000 } };

function ensurePythonRuntime(): void {
  if (kubectl(['get', 'runtimes.sandpod.dev', 'python']).ok) return;
  const created = kubectl(['create', '-f', repoPath('manifests/runtimes/python.yaml')]);
  if (!created.ok && !/AlreadyExists/.test(created.out)) throw new Error(created.out);
}

interface Replica {
  backend: KubernetesBackend;
  gateway: RunningGateway;
}

async function startReplica(config: Config): Promise<Replica> {
  const backend = await createKubernetesBackend(config, testLogger(), loadKubeConfig());
  const gateway = await startGateway(config, backend);
  return { backend, gateway };
}

async function stopReplica(replica: Replica | undefined): Promise<void> {
  await replica?.gateway.close();
  await replica?.backend.close(0);
}

describe(title, function () {
  this.timeout(180_000);
  let operator: RunningOperator | undefined;
  let first: Replica;
  let second: Replica;
  const started: { url: string; token: string; id: string }[] = [];
  const sockets: ClientSocket[] = [];

  const post = async (replica: Replica, token: string, body: unknown = SLEEPER) => {
    const response = await api(`${replica.gateway.url}/api/v1/executions`, token, { body });
    if (response.status === 202) {
      started.push({ url: replica.gateway.url, token, id: (response.body as { id: string }).id });
    }
    return response;
  };
  const idOf = (response: { status: number; body: unknown }) => {
    assert.equal(response.status, 202, JSON.stringify(response.body));
    return (response.body as { id: string }).id;
  };
  const limitsStatus = async (replica: Replica, token: string) =>
    (await api(`${replica.gateway.url}/api/v1/limits`, token)).status;

  before(async function () {
    if (problem) skipOrFail(this, problem);
    installCrds();
    ensurePythonRuntime();
    for (const name of [namespace, addedNamespace, secretNamespace]) createNamespace(name);
    writeTenants(FIRST_TENANTS);
    operator = await startOperator(namespace, {
      pod: { runtimeClassName: runtimeClassExists('gvisor') ? 'gvisor' : '' },
    });
    first = await startReplica(gatewayConfig());
    second = await startReplica(gatewayConfig());
  });

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await Promise.all(
      started.splice(0).map(({ url, token, id }) => api(`${url}/api/v1/executions/${id}`, token, { method: 'DELETE' })),
    );
    // Tests may edit the Secret; each starts from the first tenants, served by both replicas.
    writeTenants(FIRST_TENANTS);
    await eventually('both replicas serve the first tenants again', async () => {
      const statuses = await Promise.all([first, second].map((replica) => limitsStatus(replica, TOKENS.alpha)));
      return statuses.every((status) => status === 200) && (await limitsStatus(first, TOKENS.gamma)) === 401;
    });
  });

  after(async () => {
    await stopReplica(first);
    await stopReplica(second);
    await operator?.stop();
    if (!problem) for (const name of [namespace, addedNamespace, secretNamespace]) deleteNamespace(name);
  });

  it("should run a tenant's program when its token comes from the Secret", async () => {
    const response = await api(`${first.gateway.url}/api/v1/executions?wait=true`, TOKENS.alpha, {
      body: { runtime: 'python', source: 'print("hello")\n' },
    });

    assert.equal(response.status, 200, JSON.stringify(response.body));
    const result = response.body as ExecutionResult;
    assert.equal(result.reason, 'Completed', result.message);
    assert.equal(result.stdout, 'hello\n');
    assert.equal(kubectl(['-n', namespace, 'get', 'executions.sandpod.dev', result.id]).ok, true);
  });

  it("should answer 404 and refuse attach and cancel when a tenant names another tenant's execution", async () => {
    const id = idOf(await post(first, TOKENS.alpha));

    for (const replica of [first, second]) {
      const read = await api(`${replica.gateway.url}/api/v1/executions/${id}`, TOKENS.beta);
      assert.equal(read.status, 404, JSON.stringify(read.body));
      const deleted = await api(`${replica.gateway.url}/api/v1/executions/${id}`, TOKENS.beta, { method: 'DELETE' });
      assert.equal(deleted.status, 404, JSON.stringify(deleted.body));
    }
    const { socket } = await connectSocket(second.gateway.url, TOKENS.beta);
    sockets.push(socket);
    assert.deepEqual(await emitWithAck(socket, 'attach', { id }), {
      error: { code: 'not_found', message: 'no such execution' },
    });
    assert.deepEqual(await emitWithAck(socket, 'cancel', { id }), {
      error: { code: 'not_found', message: 'no such execution' },
    });

    const own = await api(`${second.gateway.url}/api/v1/executions/${id}`, TOKENS.alpha);
    assert.equal(own.status, 200);
    assert.equal((own.body as ExecutionResult).reason, null, 'still running after the refused cancel');
  });

  it('should refuse a revoked token at its next request and disconnect its sockets, keeping the others', async () => {
    const revoked = await connectSocket(first.gateway.url, TOKENS.alpha);
    const kept = await connectSocket(first.gateway.url, TOKENS.alphaSpare);
    sockets.push(revoked.socket, kept.socket);
    const disconnected = new Promise<string>((resolve) => revoked.socket.once('disconnect', resolve));

    writeTenants([tenant('alpha', [TOKENS.alphaSpare]), ...FIRST_TENANTS.slice(1)]);

    await eventually('both replicas refuse the revoked token', async () => {
      const statuses = await Promise.all([first, second].map((replica) => limitsStatus(replica, TOKENS.alpha)));
      return statuses.every((status) => status === 401);
    });
    assert.equal(await disconnected, 'io server disconnect');
    assert.equal(kept.socket.connected, true);
    assert.equal(await limitsStatus(second, TOKENS.alphaSpare), 200);
    await assert.rejects(connectSocket(second.gateway.url, TOKENS.alpha), /the token is not valid/);
  });

  it('should serve a tenant added to the Secret, in a namespace of its own, without a restart', async () => {
    assert.equal(await limitsStatus(first, TOKENS.gamma), 401);

    writeTenants([...FIRST_TENANTS, tenant('gamma', [TOKENS.gamma], { namespace: addedNamespace, maxConcurrent: 1 })]);

    await eventually(
      'the replica serves the added tenant',
      async () => (await limitsStatus(first, TOKENS.gamma)) === 200,
    );
    const id = idOf(await post(first, TOKENS.gamma));
    assert.ok(kubectl(['-n', addedNamespace, 'get', 'executions.sandpod.dev', id]).ok);
    const refused = await post(first, TOKENS.gamma);
    assert.equal(refused.status, 429, JSON.stringify(refused.body));

    // No operator watches that namespace: the test ends the Execution as the operator would, and
    // only a watch of the added namespace tells the replica.
    const ended = first.backend.wait('gamma', id);
    const patched = kubectl([
      ...['-n', addedNamespace, 'patch', 'executions.sandpod.dev', id, '--subresource=status', '--type=merge'],
      ...['-p', JSON.stringify({ status: { phase: 'Succeeded', reason: 'Completed', exitCode: 0 } })],
    ]);
    assert.ok(patched.ok, patched.out);
    assert.equal((await ended)?.phase, 'Succeeded');
    await eventually('the replica counts it as finished', () => first.backend.unfinished('gamma') === 0);
    idOf(await post(first, TOKENS.gamma));
  });

  it('should keep the last good tenants and say so when the Secret becomes malformed', async () => {
    writeSecret(secretName, '- name: Not A DNS Label\n  tokenSha256: [plain]\n');

    await eventually('the metric shows the refused version', async () => {
      const metrics = await api(`${first.gateway.url}/metrics`, undefined);
      return /^sandpod_tenants_source_problem 1$/m.test(String(metrics.body));
    });
    assert.match(first.backend.tenants?.problem ?? '', /key tenants\.yaml, is invalid: \[0\]\.name/);
    assert.equal(await limitsStatus(first, TOKENS.alpha), 200);
    assert.equal(await limitsStatus(first, TOKENS.beta), 200);
    assert.deepEqual(await first.backend.readiness(), { ready: true });

    writeTenants(FIRST_TENANTS);
    await eventually('the metric shows the good version again', async () => {
      const metrics = await api(`${first.gateway.url}/metrics`, undefined);
      return /^sandpod_tenants_source_problem 0$/m.test(String(metrics.body));
    });
  });

  it('should be unready with the reason when it starts on a malformed Secret, and serve once it is fixed', async () => {
    const brokenName = 'sandpod-tenants-broken';
    writeSecret(brokenName, 'this: [is, not, a, list');
    const replica = await startReplica(gatewayConfig(brokenName));
    try {
      const readiness = await replica.backend.readiness();
      assert.equal(readiness.ready, false);
      assert.match(readiness.reason ?? '', /sandpod-tenants-broken, key tenants\.yaml, is not YAML/);
      assert.equal((await api(`${replica.gateway.url}/readyz`, undefined)).status, 503);
      assert.equal(await limitsStatus(replica, TOKENS.alpha), 401);

      writeSecret(brokenName, yaml.dump(FIRST_TENANTS));
      await eventually('the replica becomes ready', async () => (await replica.backend.readiness()).ready);
      assert.equal(await limitsStatus(replica, TOKENS.alpha), 200);
    } finally {
      await stopReplica(replica);
    }
  });

  it("should hold a tenant's maxConcurrent across two replicas", async () => {
    idOf(await post(first, TOKENS.shared));
    const cancelled = idOf(await post(first, TOKENS.shared));

    await eventually('the second replica sees both Executions', () => second.backend.unfinished('shared') === 2);
    for (const replica of [second, first]) {
      const refused = await post(replica, TOKENS.shared);
      assert.equal(refused.status, 429, JSON.stringify(refused.body));
      assert.equal(refused.headers.get('retry-after'), '1');
    }

    const deleted = await api(`${second.gateway.url}/api/v1/executions/${cancelled}`, TOKENS.shared, {
      method: 'DELETE',
    });
    assert.ok([200, 202].includes(deleted.status), JSON.stringify(deleted.body));
    await eventually('the first replica sees the cancelled one end', () => first.backend.unfinished('shared') === 1);
    idOf(await post(first, TOKENS.shared));
  });
});
