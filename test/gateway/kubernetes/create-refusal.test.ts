import assert from 'node:assert/strict';
import { ApiException } from '@kubernetes/client-node';
import { createRefusal, statusMessage } from '../../../gateway/kubernetes/backend.js';

const rejection = (code: number, message: string) =>
  new ApiException(code, 'refused', JSON.stringify({ kind: 'Status', message }), {});

describe('createRefusal', () => {
  const table: [string, unknown, number, string][] = [
    ['a CRD validation failure', rejection(422, 'spec.limits.memoryMiB: Invalid value'), 400, 'invalid'],
    [
      'a full ResourceQuota',
      rejection(403, 'exceeded quota: executions, requested: count/executions=1'),
      503,
      'at_capacity',
    ],
    [
      'a ResourceQuota not counted yet',
      rejection(
        403,
        'executions.sandpod.dev "ex-1" is forbidden: status unknown for quota: sandpod-tenant, resources: count/executions.sandpod.dev',
      ),
      503,
      'at_capacity',
    ],
    ['missing RBAC', rejection(403, 'executions.sandpod.dev is forbidden'), 500, 'backend_misconfigured'],
    ['a missing namespace', rejection(404, 'namespaces "sandpod-x" not found'), 500, 'backend_misconfigured'],
    ['an API server error', rejection(500, 'etcdserver: request timed out'), 503, 'backend_unavailable'],
    ['an unreachable API server', new Error('connect ECONNREFUSED 127.0.0.1:6443'), 503, 'backend_unavailable'],
  ];
  for (const [what, error, status, code] of table) {
    it(`should answer ${status} ${code} when the API server gives ${what}`, () => {
      const refusal = createRefusal(error, 'sandpod-x');

      assert.equal(refusal.status, status);
      assert.equal(refusal.code, code);
    });
  }

  it("should name the quota the cluster has not counted yet in the 503's message", () => {
    const refusal = createRefusal(
      rejection(403, 'executions.sandpod.dev "ex-1" is forbidden: status unknown for quota: sandpod-tenant'),
      'sandpod-x',
    );

    assert.match(refusal.message, /not counted yet: .*status unknown for quota: sandpod-tenant/);
    assert.equal(refusal.retryAfterSeconds, 1);
  });

  it('should tell a client when to retry when the cluster is at capacity or unreachable', () => {
    assert.ok((createRefusal(new Error('down'), 'ns').retryAfterSeconds ?? 0) > 0);
  });
});

describe('statusMessage', () => {
  it("should take the message of the API server's Status body", () => {
    assert.equal(statusMessage(rejection(422, 'bad spec')), 'bad spec');
  });

  it('should fall back to the HTTP code when the body says nothing', () => {
    assert.equal(statusMessage(new ApiException(502, 'x', undefined, {})), 'HTTP 502');
  });
});
