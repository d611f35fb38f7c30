import assert from 'node:assert/strict';
import { DEFAULT_LIMIT_POLICY, type RuntimeInfo, type RuntimeLimits } from '../../../contract/index.js';
import type { ExecutionBackend, ExecutionSpec } from '../../../gateway/backend.js';
import { ApiError } from '../../../gateway/errors.js';
import { createMetrics } from '../../../gateway/metrics.js';
import { createAdmission } from '../../../gateway/tenancy/admission.js';
import type { Tenant } from '../../../gateway/tenancy/tenant.js';
import { createTenantExecutions } from '../../../gateway/tenancy/tenant-executions.js';
import { testLogger } from '../../helpers/logger.js';

// How the gateway resolves a request's limits for a runtime: its own defaults and maxima (from the
// backend: the catalog in embedded mode, the Runtime object on Kubernetes) within the tenant's.

const java: RuntimeInfo = { name: 'java', version: '17', aliases: ['jdk'], compiled: true, fileName: 'Main.java' };
const python: RuntimeInfo = { name: 'python', version: '3.11', aliases: [], compiled: false, fileName: 'main.py' };
const javaLimits: RuntimeLimits = { defaults: { pids: 128, memoryMiB: 100_000 }, maxima: { wallTimeMs: 20_000 } };

/** A backend that records what it is asked to start and never runs anything. */
function recordingBackend(): { backend: ExecutionBackend; started: ExecutionSpec[] } {
  const started: ExecutionSpec[] = [];
  const backend = {
    runtimes: async () => [java, python],
    runtimeLimits: (name: string) => (name === 'java' ? javaLimits : undefined),
    start: async (_tenant: string, spec: ExecutionSpec) => {
      started.push(spec);
      return { id: `id-${started.length}` };
    },
    wait: () => new Promise(() => {}),
    load: () => ({ running: 0, queued: 0 }),
  } as unknown as ExecutionBackend;
  return { backend, started };
}

const tenant: Tenant = {
  name: 'default',
  limits: DEFAULT_LIMIT_POLICY,
  maxConcurrent: 100,
  ratePerSecond: 1000,
  burst: 1000,
  maxSockets: 10,
  maxStreams: 10,
  callbackHosts: [],
};

describe('tenant executions: limits per runtime', () => {
  const setup = () => {
    const { backend, started } = recordingBackend();
    const executions = createTenantExecutions({
      backend,
      admission: createAdmission(),
      metrics: createMetrics(() => ({ running: 0, queued: 0 })),
      log: testLogger(),
      maxStdinBytes: 1024,
    });
    return { executions, started };
  };

  it("should give the runtime's default to a limit the request leaves out, held to the tenant maximum", async () => {
    const { executions, started } = setup();
    await executions.start(tenant, { runtime: 'jdk', source: 'x', limits: { memoryMiB: 300 } }, testLogger());
    assert.equal(started[0]?.runtime, 'java');
    assert.equal(started[0]?.limits.pids, 128);
    assert.equal(started[0]?.limits.memoryMiB, 300);
    await executions.start(tenant, { runtime: 'java', source: 'x' }, testLogger());
    assert.equal(started[1]?.limits.memoryMiB, DEFAULT_LIMIT_POLICY.maxima.memoryMiB);
  });

  it("should keep the tenant's defaults for a runtime that sets none", async () => {
    const { executions, started } = setup();
    await executions.start(tenant, { runtime: 'python', source: 'x' }, testLogger());
    assert.deepEqual(started[0]?.limits, DEFAULT_LIMIT_POLICY.defaults);
  });

  it("should refuse with 400 naming the field when a limit is above the runtime's maximum", async () => {
    const { executions, started } = setup();
    await assert.rejects(
      executions.start(tenant, { runtime: 'java', source: 'x', limits: { wallTimeMs: 30_000 } }, testLogger()),
      (error: unknown) =>
        error instanceof ApiError &&
        error.status === 400 &&
        error.field === 'limits.wallTimeMs' &&
        /runtime java's maximum of 20000/.test(error.message),
    );
    assert.equal(started.length, 0);
  });
});
