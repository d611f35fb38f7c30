import assert from 'node:assert/strict';
import {
  DEFAULT_LIMIT_POLICY,
  DEFAULT_LIMITS,
  type LimitPolicy,
  limitPolicySchema,
  resolveLimits,
  runtimeLimitPolicy,
} from '../../contract/index.js';

describe('resolveLimits', () => {
  it('should fill every limit from the defaults when the request names none', () => {
    assert.deepEqual(resolveLimits(undefined, DEFAULT_LIMIT_POLICY), { limits: DEFAULT_LIMITS });
  });

  it('should keep a requested value when it is within the maximum', () => {
    const resolved = resolveLimits({ memoryMiB: 512, wallTimeMs: 1000 }, DEFAULT_LIMIT_POLICY);
    assert.ok('limits' in resolved);
    assert.equal(resolved.limits.memoryMiB, 512);
    assert.equal(resolved.limits.wallTimeMs, 1000);
    assert.equal(resolved.limits.pids, DEFAULT_LIMITS.pids);
  });

  it('should reject a value above the maximum instead of lowering it', () => {
    const resolved = resolveLimits({ memoryMiB: DEFAULT_LIMIT_POLICY.maxima.memoryMiB + 1 }, DEFAULT_LIMIT_POLICY);
    assert.ok('violation' in resolved);
    assert.equal(resolved.violation.field, 'limits.memoryMiB');
    assert.match(resolved.violation.message, /maximum/);
  });
});

describe('limitPolicySchema', () => {
  it('should reject a policy whose default is above its maximum', () => {
    const parsed = limitPolicySchema.safeParse({
      defaults: { ...DEFAULT_LIMITS, pids: 500 },
      maxima: { ...DEFAULT_LIMIT_POLICY.maxima, pids: 100 },
    });
    assert.equal(parsed.success, false);
  });
});

describe('runtimeLimitPolicy', () => {
  const tenant: LimitPolicy = {
    defaults: { ...DEFAULT_LIMITS, memoryMiB: 256, pids: 64, wallTimeMs: 10_000 },
    maxima: { ...DEFAULT_LIMIT_POLICY.maxima, memoryMiB: 1024, pids: 256, wallTimeMs: 60_000 },
  };

  it('should be the tenant policy when the runtime sets no limits', () => {
    assert.deepEqual(runtimeLimitPolicy(undefined, tenant), tenant);
    assert.deepEqual(runtimeLimitPolicy({}, tenant), tenant);
  });

  it('should take the runtime default over the tenant default when it is within the tenant maximum', () => {
    const policy = runtimeLimitPolicy({ defaults: { memoryMiB: 512, pids: 128 } }, tenant);
    assert.equal(policy.defaults.memoryMiB, 512);
    assert.equal(policy.defaults.pids, 128);
    assert.equal(policy.defaults.wallTimeMs, 10_000);
  });

  it('should hold a runtime default to the tenant maximum when it is above it', () => {
    const policy = runtimeLimitPolicy({ defaults: { memoryMiB: 4096 } }, tenant);
    assert.equal(policy.defaults.memoryMiB, 1024);
    assert.equal(policy.maxima.memoryMiB, 1024);
  });

  it('should lower the maximum to the runtime maximum but never raise it past the tenant one', () => {
    const policy = runtimeLimitPolicy({ maxima: { wallTimeMs: 20_000, pids: 10_000 } }, tenant);
    assert.equal(policy.maxima.wallTimeMs, 20_000);
    assert.equal(policy.maxima.pids, 256);
  });

  it('should lower a tenant default to a runtime maximum below it', () => {
    const policy = runtimeLimitPolicy({ maxima: { wallTimeMs: 5000 } }, tenant);
    assert.equal(policy.defaults.wallTimeMs, 5000);
  });
});

describe('resolveLimits for a runtime', () => {
  const runtime = { name: 'java', limits: { defaults: { pids: 128 }, maxima: { memoryMiB: 512 } } };

  it("should fill a left-out limit from the runtime's default when the request omits it", () => {
    const resolved = resolveLimits({ memoryMiB: 300 }, DEFAULT_LIMIT_POLICY, runtime);
    assert.ok('limits' in resolved);
    assert.equal(resolved.limits.pids, 128);
    assert.equal(resolved.limits.memoryMiB, 300);
  });

  it("should name the runtime's maximum when a request is above it but within the tenant's", () => {
    const resolved = resolveLimits({ memoryMiB: 600 }, DEFAULT_LIMIT_POLICY, runtime);
    assert.ok('violation' in resolved);
    assert.equal(resolved.violation.field, 'limits.memoryMiB');
    assert.equal(resolved.violation.message, "memoryMiB 600 is above runtime java's maximum of 512");
  });

  it("should name the tenant's maximum when a request is above it", () => {
    const pids = DEFAULT_LIMIT_POLICY.maxima.pids + 1;
    const resolved = resolveLimits({ pids }, DEFAULT_LIMIT_POLICY, runtime);
    assert.ok('violation' in resolved);
    assert.match(resolved.violation.message, /this tenant's maximum/);
  });
});
