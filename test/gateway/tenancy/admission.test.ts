import assert from 'node:assert/strict';
import { DEFAULT_LIMIT_POLICY } from '../../../contract/index.js';
import { ApiError } from '../../../gateway/errors.js';
import { createAdmission } from '../../../gateway/tenancy/admission.js';
import type { Tenant } from '../../../gateway/tenancy/tenant.js';

const tenant = (overrides: Partial<Tenant> = {}): Tenant => ({
  name: 'alpha',
  limits: DEFAULT_LIMIT_POLICY,
  maxConcurrent: 2,
  ratePerSecond: 1,
  burst: 10,
  maxSockets: 4,
  maxStreams: 4,
  callbackHosts: [],
  ...overrides,
});

const status429 = (error: unknown) => error instanceof ApiError && error.status === 429;

describe('createAdmission', () => {
  it('should refuse with 429 when the tenant has maxConcurrent unfinished executions', () => {
    const admission = createAdmission(() => 0);
    admission.admit(tenant());
    admission.admit(tenant());

    assert.throws(() => admission.admit(tenant()), status429);
    assert.equal(admission.inFlight('alpha'), 2);
  });

  it('should admit again when a slot is released, once per release', () => {
    const admission = createAdmission(() => 0);
    const release = admission.admit(tenant());
    admission.admit(tenant());

    release();
    release();

    assert.equal(admission.inFlight('alpha'), 1);
    admission.admit(tenant());
    assert.throws(() => admission.admit(tenant()), status429);
  });

  it('should refuse with a Retry-After when the start rate is exceeded', () => {
    let now = 0;
    const admission = createAdmission(() => now);
    const limited = tenant({ maxConcurrent: 100, ratePerSecond: 0.5, burst: 1 });
    admission.admit(limited);

    let refused: unknown;
    try {
      admission.admit(limited);
    } catch (error) {
      refused = error;
    }

    assert.ok(refused instanceof ApiError);
    assert.equal(refused.status, 429);
    assert.equal(refused.retryAfterSeconds, 2);
    now = 2_000;
    assert.doesNotThrow(() => admission.admit(limited));
  });

  it('should keep tenants apart when one is at its cap', () => {
    const admission = createAdmission(() => 0);
    admission.admit(tenant({ maxConcurrent: 1 }));

    assert.doesNotThrow(() => admission.admit(tenant({ name: 'beta', maxConcurrent: 1 })));
  });

  it('should not spend a rate token when the concurrency cap refuses', () => {
    const admission = createAdmission(() => 0);
    const limited = tenant({ maxConcurrent: 1, burst: 2 });
    const release = admission.admit(limited);
    assert.throws(() => admission.admit(limited), status429);

    release();

    assert.doesNotThrow(() => admission.admit(limited));
  });

  it("should count the backend's unfinished executions of the tenant besides its own starts in flight", () => {
    const unfinished = new Map([['alpha', 1]]);
    const admission = createAdmission(
      () => 0,
      (name) => unfinished.get(name) ?? 0,
    );
    assert.equal(admission.backendCounts, true);
    const release = admission.admit(tenant({ maxConcurrent: 3 }));
    admission.admit(tenant({ maxConcurrent: 3 }));

    assert.throws(() => admission.admit(tenant({ maxConcurrent: 3 })), status429);
    release();
    unfinished.set('alpha', 2);
    assert.throws(() => admission.admit(tenant({ maxConcurrent: 3 })), status429);
    unfinished.set('alpha', 0);
    assert.doesNotThrow(() => admission.admit(tenant({ maxConcurrent: 3 })));
  });
});
