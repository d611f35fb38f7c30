import assert from 'node:assert/strict';
import { type CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { DEFAULT_LIMITS, type ExecutionResult } from '../../../contract/index.js';
import type { ExecutionObject, Runtime } from '../../../contract/objects.js';
import { LABELS } from '../../../contract/objects.js';
import { parseConfig } from '../../../gateway/config.js';
import { KubernetesBackend } from '../../../gateway/kubernetes/backend.js';
import { slimExecution } from '../../../gateway/kubernetes/execution-object.js';
import { FinishedResults } from '../../../gateway/kubernetes/finished-results.js';
import { configuredTenants } from '../../../gateway/tenancy/tenant-directory.js';
import { HandFilledWatch } from '../../helpers/hand-filled-watch.js';
import { testLogger } from '../../helpers/logger.js';

const stored = (name: string, phase: 'Running' | 'Succeeded', resourceVersion = '1'): ExecutionObject => ({
  apiVersion: 'sandpod.dev/v1alpha1',
  kind: 'Execution',
  metadata: { namespace: 'sandpod-acme', name, resourceVersion, labels: { [LABELS.tenant]: 'acme' } },
  spec: { runtime: 'python', source: 'print(1)', limits: { ...DEFAULT_LIMITS } },
  status:
    phase === 'Running'
      ? { phase, stdout: '', stderr: '' }
      : { phase, reason: 'Completed', exitCode: 0, stdout: `out of ${name}@${resourceVersion}\n`, stderr: '' },
});

describe('KubernetesBackend reads', () => {
  const setup = (cacheBytes?: number) => {
    const config = parseConfig({
      backend: 'kubernetes',
      kubernetes: cacheBytes === undefined ? {} : { finishedResultCacheBytes: cacheBytes },
    });
    const executions = new HandFilledWatch<ExecutionObject>();
    const inApiServer = new Map<string, ExecutionObject>();
    const reads = { count: 0 };
    const custom = {
      getNamespacedCustomObject: async ({ name }: { name: string }) => {
        reads.count += 1;
        const found = inApiServer.get(name);
        if (!found) throw Object.assign(new Error('not found'), { code: 404 });
        return structuredClone(found);
      },
    } as unknown as CustomObjectsApi;
    const backend = new KubernetesBackend({
      kubeConfig: new KubeConfig(),
      custom,
      executions,
      runtimes: new HandFilledWatch<Runtime>(),
      settings: config.kubernetes,
      tenants: configuredTenants(config),
      log: testLogger(),
    });
    /** Stores the Execution in the API server and, unless `watched` is false, in the watch. */
    const put = (execution: ExecutionObject, watched = true) => {
      inApiServer.set(execution.metadata.name ?? '', execution);
      executions.objects = executions.objects.filter((object) => object.metadata.name !== execution.metadata.name);
      if (watched) executions.objects.push(slimExecution(structuredClone(execution)));
    };
    const readTimes = async (times: number, id: string, tenant = 'default') => {
      const results: (ExecutionResult | undefined)[] = [];
      for (let i = 0; i < times; i += 1) results.push(await backend.get(tenant, id));
      return results;
    };
    return { backend, put, reads, readTimes };
  };
  // Loopback mode: tenant `default` in namespace sandpod-default; these live in sandpod-acme.
  const tenantOf = (execution: ExecutionObject) => {
    execution.metadata.namespace = 'sandpod-default';
    execution.metadata.labels = { [LABELS.tenant]: 'default' };
    return execution;
  };

  it('should answer 100 reads of a running Execution from the watch without an API request', async () => {
    const { put, reads, readTimes } = setup();
    put(tenantOf(stored('ex-run', 'Running')));
    const results = await readTimes(100, 'ex-run');
    assert.equal(reads.count, 0);
    assert.ok(results.every((result) => result?.phase === 'Running' && result.stdout === ''));
  });

  it('should read a finished Execution once for 100 reads, output included', async () => {
    const { put, reads, readTimes } = setup();
    put(tenantOf(stored('ex-done', 'Succeeded')));
    const results = await readTimes(100, 'ex-done');
    assert.equal(reads.count, 1);
    assert.ok(results.every((result) => result?.reason === 'Completed' && result.stdout === 'out of ex-done@1\n'));
  });

  it('should read again when the watch shows another version of the Execution', async () => {
    const { put, reads, readTimes } = setup();
    put(tenantOf(stored('ex-done', 'Succeeded', '1')));
    await readTimes(3, 'ex-done');
    put(tenantOf(stored('ex-done', 'Succeeded', '2')));
    const [result] = await readTimes(3, 'ex-done');
    assert.equal(reads.count, 2);
    assert.equal(result?.stdout, 'out of ex-done@2\n');
  });

  it('should read the API server for an Execution the watch has not shown yet', async () => {
    const { put, reads, readTimes } = setup();
    put(tenantOf(stored('ex-new', 'Running')), false);
    const results = await readTimes(2, 'ex-new');
    assert.equal(reads.count, 2);
    assert.equal(results[0]?.phase, 'Running');
  });

  it("should answer another tenant's Execution as missing without reading it", async () => {
    const { put, reads, readTimes } = setup();
    const other = tenantOf(stored('ex-other', 'Succeeded'));
    other.metadata.labels = { [LABELS.tenant]: 'someone-else' };
    put(other);
    assert.deepEqual(await readTimes(2, 'ex-other'), [undefined, undefined]);
    assert.equal(reads.count, 0);
  });
});

describe('FinishedResults', () => {
  const result = (stdout: string) => ({ stdout, stderr: '', message: '' }) as ExecutionResult;

  it('should keep results within its byte budget, dropping the least recently read first', () => {
    const kept = new FinishedResults(3 * (2 * 1000 + 512));
    kept.set('a', '1', result('a'.repeat(1000)));
    kept.set('b', '1', result('b'.repeat(1000)));
    kept.set('c', '1', result('c'.repeat(1000)));
    assert.ok(kept.get('a', '1'), 'a was read last, so b is the oldest now');
    kept.set('d', '1', result('d'.repeat(1000)));
    assert.equal(kept.get('b', '1'), undefined);
    assert.ok(kept.get('a', '1') && kept.get('c', '1') && kept.get('d', '1'));
    assert.ok(kept.bytes <= 3 * (2 * 1000 + 512));
  });

  it('should forget a result once asked for another version of it', () => {
    const kept = new FinishedResults(1 << 20);
    kept.set('a', '1', result('x'));
    assert.equal(kept.get('a', '2'), undefined);
    assert.equal(kept.size, 0);
  });
});
