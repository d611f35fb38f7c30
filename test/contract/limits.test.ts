import assert from 'node:assert/strict';
import { DEFAULT_LIMIT_POLICY, DEFAULT_LIMITS, limitPolicySchema, resolveLimits } from '../../contract/index.js';

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
