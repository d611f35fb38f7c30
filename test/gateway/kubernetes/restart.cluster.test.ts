import assert from 'node:assert/strict';
import { DEFAULT_LIMITS, DEFAULT_MAX_LIMITS } from '../../../contract/index.js';
import type { ExecutionEvent } from '../../../gateway/backend.js';
import { parseConfig } from '../../../gateway/config.js';
import type { KubernetesBackend } from '../../../gateway/kubernetes/backend.js';
import { createKubernetesBackend } from '../../../gateway/kubernetes/index.js';
import {
  createNamespace,
  deleteNamespace,
  installCrds,
  loadKubeConfig,
  nodeProblem,
  nodeSuiteTitle,
  type RunningOperator,
  runtimeClassExists,
  skipOrFail,
  startOperator,
} from '../../helpers/cluster-suite.js';
import { testLogger } from '../../helpers/gateway.js';

// Needs the dev cluster with a Ready node and a working `python` Runtime. A gateway replica goes
// away while a program streams; a new one attaches and gets all the output and the result, since
// nothing of an execution lives only in a replica.

const problem = nodeProblem();
const title = nodeSuiteTitle(
  problem,
  'gateway restart on Kubernetes while a program streams',
  'needs the dev cluster with a Ready node',
);

const namespace = `sandpod-gw-restart-${process.pid}-${Date.now().toString(36)}`;
// Without tenants the gateway watches the loopback tenant's namespace, so that one is mapped too.
const config = parseConfig({
  backend: 'kubernetes',
  kubernetes: { namespaces: { alpha: namespace, default: namespace } },
});

const PROGRAM = 'import sys, time\nfor i in range(30):\n    print(i, flush=True)\n    time.sleep(0.1)\n';
const EXPECTED = Array.from({ length: 30 }, (_, i) => `${i}\n`).join('');

describe(title, function () {
  this.timeout(120_000);
  let operator: RunningOperator | undefined;
  const backends: KubernetesBackend[] = [];
  const replica = async () => {
    const backend = await createKubernetesBackend(config, testLogger(), loadKubeConfig());
    backends.push(backend);
    return backend;
  };

  before(async function () {
    if (problem) skipOrFail(this, problem);
    installCrds();
    createNamespace(namespace);
    operator = await startOperator(namespace, {
      pod: { runtimeClassName: runtimeClassExists('gvisor') ? 'gvisor' : '' },
      limits: { defaults: DEFAULT_LIMITS, maxima: DEFAULT_MAX_LIMITS },
    });
  });

  after(async () => {
    for (const backend of backends) await backend.close(0);
    await operator?.stop();
    if (!problem) deleteNamespace(namespace);
  });

  it('should replay all output and end with the result when a new replica attaches after the first went away', async () => {
    const first = await replica();
    const { id } = await first.start('alpha', { runtime: 'python', source: PROGRAM, limits: { ...DEFAULT_LIMITS } });
    const firstFollow = new AbortController();
    let seenByFirst = '';
    for await (const event of first.follow('alpha', id, firstFollow.signal) ?? []) {
      if (event.type === 'output') seenByFirst += event.data;
      if (seenByFirst.includes('5\n')) break;
    }
    firstFollow.abort();
    await first.close(0);

    const second = await replica();
    const events: ExecutionEvent[] = [];
    for await (const event of second.follow('alpha', id, new AbortController().signal) ?? []) events.push(event);

    const stdout = events
      .map((event) => (event.type === 'output' && event.stream === 'stdout' ? event.data : ''))
      .join('');
    assert.equal(stdout, EXPECTED);
    const exit = events.at(-1);
    assert.ok(exit?.type === 'exit', JSON.stringify(exit));
    assert.equal(exit.result.reason, 'Completed');
    assert.equal(exit.result.stdout, EXPECTED);
    assert.ok(seenByFirst.startsWith('0\n'));
  });
});
