import assert from 'node:assert/strict';
import { type CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { DEFAULT_LIMITS } from '../../../contract/index.js';
import type { ExecutionObject, Runtime } from '../../../contract/objects.js';
import { LABELS } from '../../../contract/objects.js';
import { parseConfig } from '../../../gateway/config.js';
import { KubernetesBackend } from '../../../gateway/kubernetes/backend.js';
import { configuredTenants } from '../../../gateway/tenancy/tenant-directory.js';
import { HandFilledWatch } from '../../helpers/hand-filled-watch.js';
import { testLogger } from '../../helpers/logger.js';

const execution = (namespace: string, name: string, tenant: string | undefined, phase?: string): ExecutionObject => ({
  apiVersion: 'sandpod.dev/v1alpha1',
  kind: 'Execution',
  metadata: { namespace, name, ...(tenant ? { labels: { [LABELS.tenant]: tenant } } : {}) },
  spec: { runtime: 'python', limits: { ...DEFAULT_LIMITS } },
  ...(phase ? { status: { phase: phase as 'Running' } } : {}),
});

const python: Runtime = {
  apiVersion: 'sandpod.dev/v1alpha1',
  kind: 'Runtime',
  metadata: { name: 'python' },
  spec: { image: 'python', version: '3', fileName: 'main.py', run: ['python3', 'main.py'] },
} as unknown as Runtime;

describe('KubernetesBackend.unfinished', () => {
  const setup = () => {
    const config = parseConfig({
      backend: 'kubernetes',
      kubernetes: { namespaces: { alpha: 'shared', beta: 'shared' } },
    });
    const executions = new HandFilledWatch<ExecutionObject>();
    const runtimes = new HandFilledWatch<Runtime>();
    runtimes.objects.push(python);
    let nowMs = 1_000_000;
    const created: string[] = [];
    const custom = {
      createNamespacedCustomObject: async ({ body }: { body: ExecutionObject }) => {
        created.push(body.metadata.name ?? '');
        return body;
      },
    } as unknown as CustomObjectsApi;
    const backend = new KubernetesBackend({
      kubeConfig: new KubeConfig(),
      custom,
      executions,
      runtimes,
      settings: config.kubernetes,
      tenants: configuredTenants(config),
      log: testLogger(),
      now: () => new Date(nowMs),
    });
    return { backend, executions, created, advance: (ms: number) => (nowMs += ms) };
  };

  it("should count the tenant's unfinished Executions in the watch, of whichever replica", () => {
    const { backend, executions } = setup();
    executions.objects.push(
      execution('shared', 'a1', 'alpha'),
      execution('shared', 'a2', 'alpha', 'Running'),
      execution('shared', 'a3', 'alpha', 'Succeeded'),
      execution('shared', 'b1', 'beta', 'Running'),
      execution('elsewhere', 'x1', 'alpha', 'Running'),
    );

    assert.equal(backend.unfinished('alpha'), 2);
    assert.equal(backend.unfinished('beta'), 1);
  });

  it('should count an Execution it created before the watch shows it, and once after', async () => {
    const { backend, executions, created } = setup();
    const spec = { runtime: 'python', source: 'print(1)', limits: { ...DEFAULT_LIMITS } };

    const { id } = await backend.start('alpha', spec);
    assert.deepEqual(created, [id]);
    assert.equal(backend.unfinished('alpha'), 1);
    assert.equal(backend.unfinished('beta'), 0);

    executions.objects.push(execution('shared', id, 'alpha', 'Running'));
    assert.equal(backend.unfinished('alpha'), 1);
    executions.objects[0] = execution('shared', id, 'alpha', 'Failed');
    assert.equal(backend.unfinished('alpha'), 0);
  });

  it('should stop counting a creation the watch never shows after a minute', async () => {
    const { backend, advance } = setup();
    await backend.start('alpha', { runtime: 'python', source: 'print(1)', limits: { ...DEFAULT_LIMITS } });

    advance(59_000);
    assert.equal(backend.unfinished('alpha'), 1);
    advance(2_000);
    assert.equal(backend.unfinished('alpha'), 0);
  });
});
