import assert from 'node:assert/strict';
import { type CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { DEFAULT_LIMITS } from '../../../contract/index.js';
import type { ExecutionObject, Runtime } from '../../../contract/objects.js';
import { LABELS } from '../../../contract/objects.js';
import { parseConfig } from '../../../gateway/config.js';
import { ApiError } from '../../../gateway/errors.js';
import { KubernetesBackend } from '../../../gateway/kubernetes/backend.js';
import { slimExecution } from '../../../gateway/kubernetes/execution-object.js';
import { configuredTenants } from '../../../gateway/tenancy/tenant-directory.js';
import { HandFilledWatch } from '../../helpers/hand-filled-watch.js';
import { testLogger } from '../../helpers/logger.js';

const python = {
  apiVersion: 'sandpod.dev/v1alpha1',
  kind: 'Runtime',
  metadata: { name: 'python' },
  spec: { image: 'python', version: '3', fileName: 'main.py', run: ['python3', 'main.py'] },
} as unknown as Runtime;

const NOW = Date.parse('2026-12-06T12:00:00Z');

/** An Execution of tenant `alpha` as the watch holds it, slimmed from the whole object. */
function watched(
  name: string,
  fields: { source?: string; stdout?: string; finishedSecondsAgo?: number; ttl?: number },
) {
  const whole: ExecutionObject = {
    apiVersion: 'sandpod.dev/v1alpha1',
    kind: 'Execution',
    metadata: { namespace: 'shared', name, labels: { [LABELS.tenant]: 'alpha' } },
    spec: {
      runtime: 'python',
      source: fields.source ?? 'print(1)',
      limits: { ...DEFAULT_LIMITS },
      ttlSecondsAfterFinished: fields.ttl ?? 3600,
    },
    ...(fields.finishedSecondsAgo === undefined
      ? {}
      : {
          status: {
            phase: 'Succeeded' as const,
            reason: 'Completed' as const,
            finishedAt: new Date(NOW - fields.finishedSecondsAgo * 1000).toISOString(),
            stdout: fields.stdout ?? '',
          },
        }),
  };
  return slimExecution(whole);
}

describe('KubernetesBackend storage cap', () => {
  const setup = (storage: Record<string, number>) => {
    const config = parseConfig({
      backend: 'kubernetes',
      kubernetes: { namespaces: { alpha: 'shared', beta: 'shared' }, storage },
    });
    const executions = new HandFilledWatch<ExecutionObject>();
    const runtimes = new HandFilledWatch<Runtime>();
    runtimes.objects.push(python);
    const created: ExecutionObject[] = [];
    const custom = {
      createNamespacedCustomObject: async ({ body }: { body: ExecutionObject }) => {
        created.push(body);
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
      now: () => new Date(NOW),
    });
    const start = (tenant: string, source = 'print(1)') =>
      backend.start(tenant, { runtime: 'python', source, limits: { ...DEFAULT_LIMITS } });
    return { backend, executions, created, start };
  };

  const refusal = async (attempt: Promise<unknown>) => {
    try {
      await attempt;
    } catch (error) {
      assert.ok(error instanceof ApiError);
      return error;
    }
    assert.fail('the start was admitted');
  };

  it('should refuse with 429 and the time until the first finished one goes, at the count cap', async () => {
    const { executions, start, created } = setup({ maxExecutionsPerTenant: 3 });
    executions.objects.push(
      watched('a', { finishedSecondsAgo: 3590 }),
      watched('b', { finishedSecondsAgo: 10 }),
      watched('c', {}),
    );
    const error = await refusal(start('alpha'));
    assert.equal(error.status, 429);
    assert.equal(error.retryAfterSeconds, 10, 'a is deleted 10 s from now');
    assert.match(error.message, /tenant alpha has 3 stored executions, its maximum of 3/);
    assert.equal(created.length, 0);
    await start('beta');
    assert.equal(created.length, 1, 'another tenant has its own cap');
  });

  it('should refuse a start that would pass the byte cap, output of finished ones included', async () => {
    const { executions, start } = setup({ maxBytesPerTenant: 300_000 });
    executions.objects.push(watched('a', { finishedSecondsAgo: 5, stdout: 'x'.repeat(200_000) }));
    await start('alpha', 'y'.repeat(50_000));
    const error = await refusal(start('alpha', 'z'.repeat(60_000)));
    assert.equal(error.status, 429);
    assert.match(error.message, /bytes of stored executions; this one \(\d+ bytes\) would pass its maximum of 300000/);
  });

  it('should count Executions it created that the watch has not shown yet', async () => {
    const { start } = setup({ maxExecutionsPerTenant: 2 });
    await start('alpha');
    await start('alpha');
    const error = await refusal(start('alpha'));
    assert.equal(error.retryAfterSeconds, 10, 'none finished: look again shortly');
  });

  it('should give a large request the short TTL and a small one the usual TTL', async () => {
    const { start, created } = setup({ largeExecutionBytes: 10_000, largeTtlSecondsAfterFinished: 120 });
    await start('alpha', 'print(1)');
    await start('alpha', 'x'.repeat(20_000));
    assert.deepEqual(
      created.map((execution) => execution.spec.ttlSecondsAfterFinished),
      [3600, 120],
    );
  });
});
