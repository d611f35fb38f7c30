import assert from 'node:assert/strict';
import type { KubeConfig } from '@kubernetes/client-node';
import { DEFAULT_LIMITS } from '../../../contract/index.js';
import { LABELS } from '../../../contract/objects.js';
import type { ExecutionEvent, ExecutionSpec } from '../../../gateway/backend.js';
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

// Needs a control plane only (the dev cluster's API server; no node, no operator): the Kubernetes
// backend against real Executions whose status this test writes by hand, as the operator would.

const problem = clusterProblem();
const title = problem
  ? `Kubernetes backend on the control plane — SKIPPED, NO CLUSTER: ${problem}`
  : 'Kubernetes backend on the control plane (needs the dev cluster API server)';

const run = `${process.pid}-${Date.now().toString(36)}`;
const namespace = `sandpod-gw-cp-${run}`;
const runtimeName = `gwtest-${run}`;

const spec = (overrides: Partial<ExecutionSpec> = {}): ExecutionSpec => ({
  runtime: runtimeName,
  source: 'print(1)\n',
  limits: { ...DEFAULT_LIMITS },
  ...overrides,
});

interface ExecutionJson {
  metadata: { labels: Record<string, string> };
  spec: {
    runtime: string;
    limits: unknown;
    stdin?: string;
    args?: string[];
    ttlSecondsAfterFinished?: number;
    cancel?: boolean;
  };
}

function readExecution(name: string): ExecutionJson {
  const got = kubectl(['-n', namespace, 'get', 'executions.sandpod.dev', name, '-o', 'json']);
  assert.ok(got.ok, got.out);
  return JSON.parse(got.out);
}

function writeStatus(name: string, status: Record<string, unknown>): void {
  const patched = kubectl([
    '-n',
    namespace,
    'patch',
    'executions.sandpod.dev',
    name,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
  assert.ok(patched.ok, patched.out);
}

async function collect(events: AsyncIterable<ExecutionEvent> | undefined): Promise<ExecutionEvent[]> {
  assert.ok(events, 'follow answered undefined');
  const seen: ExecutionEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

describe(title, function () {
  this.timeout(60_000);
  let backend: KubernetesBackend;
  let kubeConfig: KubeConfig;

  before(async function () {
    if (problem) skipOrFail(this, problem);
    installCrds();
    createNamespace(namespace);
    const runtime = {
      apiVersion: 'sandpod.dev/v1alpha1',
      kind: 'Runtime',
      metadata: { name: runtimeName },
      spec: {
        image: 'sandpod.local/python:3.11',
        version: '3.11',
        fileName: 'main.py',
        run: ['python3', 'main.py'],
        aliases: [`${runtimeName}-alias`],
      },
    };
    const created = kubectl(['create', '-f', '-'], JSON.stringify(runtime));
    assert.ok(created.ok, created.out);
    kubeConfig = loadKubeConfig();
    const config = parseConfig({
      backend: 'kubernetes',
      kubernetes: { namespaces: { alpha: namespace, beta: namespace }, ttlSecondsAfterFinished: 600, watch: 'all' },
    });
    backend = await createKubernetesBackend(config, testLogger(), kubeConfig);
    // The Runtime watch may deliver the new Runtime a moment after the list.
    for (let tries = 0; tries < 50 && !(await backend.runtimes()).some((r) => r.name === runtimeName); tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  after(async () => {
    if (problem) return;
    await backend?.close(0);
    deleteNamespace(namespace);
    kubectl(['delete', 'runtimes.sandpod.dev', runtimeName, '--ignore-not-found']);
  });

  it('should be ready when the API server answers', async () => {
    assert.deepEqual(await backend.readiness(), { ready: true });
  });

  it('should list a Runtime when it exists in the cluster', async () => {
    const runtimes = await backend.runtimes();

    const listed = runtimes.find((runtime) => runtime.name === runtimeName);
    assert.deepEqual(listed, {
      name: runtimeName,
      version: '3.11',
      aliases: [`${runtimeName}-alias`],
      compiled: false,
      fileName: 'main.py',
    });
  });

  it('should create an Execution in the tenant namespace with its label and full limits when started', async () => {
    const { id } = await backend.start('alpha', spec({ runtime: `${runtimeName}-alias`, stdin: 'x', args: ['a'] }));

    const execution = readExecution(id);
    assert.equal(execution.metadata.labels[LABELS.tenant], 'alpha');
    assert.equal(execution.spec.runtime, runtimeName);
    assert.deepEqual(execution.spec.limits, DEFAULT_LIMITS);
    assert.equal(execution.spec.stdin, 'x');
    assert.deepEqual(execution.spec.args, ['a']);
    assert.equal(execution.spec.ttlSecondsAfterFinished, 600);
    const result = await backend.get('alpha', id);
    assert.equal(result?.phase, 'Pending');
    assert.equal(result?.runtime, runtimeName);
  });

  it('should refuse an unknown runtime with 400 naming runtime', async () => {
    await assert.rejects(backend.start('alpha', spec({ runtime: 'no-such-language' })), {
      status: 400,
      field: 'runtime',
    });
  });

  it("should treat another tenant's execution as missing", async () => {
    const { id } = await backend.start('alpha', spec());

    assert.equal(await backend.get('beta', id), undefined);
    assert.equal(await backend.cancel('beta', id), false);
    // Undefined when the watch has the Execution already, else the follower finds out and throws.
    const followed = backend.follow('beta', id, new AbortController().signal);
    if (followed) await assert.rejects(collect(followed), { status: 404 });
    assert.equal(await backend.wait('beta', id), undefined);
    await assert.rejects(backend.stdin('beta', id, 'x'), { status: 404 });
    assert.equal(await backend.get('alpha', '../../pods'), undefined);
  });

  it('should set spec.cancel when cancelled, and answer false for an unknown id', async () => {
    const { id } = await backend.start('alpha', spec());

    assert.equal(await backend.cancel('alpha', id), true);

    assert.equal(readExecution(id).spec.cancel, true);
    assert.equal(await backend.cancel('alpha', 'ex-does-not-exist'), false);
  });

  it('should resolve wait from the watch when the status becomes terminal', async () => {
    const { id } = await backend.start('alpha', spec());
    const waiting = backend.wait('alpha', id);

    writeStatus(id, { phase: 'Running', message: 'running' });
    writeStatus(id, {
      phase: 'Failed',
      reason: 'NonZeroExit',
      exitCode: 3,
      message: 'exited with code 3',
      stdout: 'out\n',
      stderr: 'err\n',
      durationMs: 12,
    });
    const result = await waiting;

    assert.equal(result?.phase, 'Failed');
    assert.equal(result?.reason, 'NonZeroExit');
    assert.equal(result?.exitCode, 3);
    assert.equal(result?.stdout, 'out\n');
    assert.equal(result?.stderr, 'err\n');
  });

  it('should replay output from status and end with exit when following a finished execution', async () => {
    const { id } = await backend.start('alpha', spec());
    writeStatus(id, { phase: 'Succeeded', reason: 'Completed', exitCode: 0, stdout: 'hello\n', stderr: 'warn\n' });
    await backend.wait('alpha', id);

    const events = await collect(backend.follow('alpha', id, new AbortController().signal));

    assert.deepEqual(
      events.filter((event) => event.type !== 'exit'),
      [
        { type: 'status', phase: 'Succeeded' },
        { type: 'output', stream: 'stdout', data: 'hello\n' },
        { type: 'output', stream: 'stderr', data: 'warn\n' },
      ],
    );
    const exit = events.at(-1);
    assert.equal(exit?.type, 'exit');
    assert.equal(exit?.type === 'exit' && exit.result.reason, 'Completed');
  });

  it('should send each phase change and end with the final status when following a running execution', async () => {
    const { id } = await backend.start('alpha', spec());
    const following = collect(backend.follow('alpha', id, new AbortController().signal));
    await new Promise((resolve) => setTimeout(resolve, 300));

    writeStatus(id, { phase: 'Running', message: 'compiling' });
    writeStatus(id, { phase: 'Failed', reason: 'Cancelled', message: 'cancelled by spec.cancel', stdout: 'partial' });
    const events = await following;

    assert.deepEqual(
      events.map((event) => (event.type === 'output' ? event.data : event.type === 'status' ? event.phase : 'exit')),
      ['Pending', 'Running', 'partial', 'Failed', 'exit'],
    );
  });

  it('should end a follow with a SystemError exit when the Execution is deleted before it finishes', async () => {
    const { id } = await backend.start('alpha', spec());
    const following = collect(backend.follow('alpha', id, new AbortController().signal));
    await new Promise((resolve) => setTimeout(resolve, 300));

    assert.ok(kubectl(['-n', namespace, 'delete', 'executions.sandpod.dev', id]).ok);
    const events = await following;

    const exit = events.at(-1);
    assert.equal(exit?.type === 'exit' && exit.result.reason, 'SystemError');
  });

  it('should count executions not yet finished in load', async () => {
    await backend.start('alpha', spec());
    await new Promise((resolve) => setTimeout(resolve, 300));

    const load = backend.load();

    assert.ok(load.queued >= 1, JSON.stringify(load));
  });

  it('should refuse stdin with 409 when the execution is not interactive', async () => {
    const { id } = await backend.start('alpha', spec());

    await assert.rejects(backend.stdin('alpha', id, 'x'), { status: 409, code: 'not_interactive' });
  });
});
