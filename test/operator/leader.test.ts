import assert from 'node:assert/strict';
import { ApiException, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import winston from 'winston';
import { LeaderElector } from '../../operator/leader.js';
import { claimedLease, leaseDecision } from '../../operator/lease.js';

const now = new Date('2026-01-01T10:00:20Z');
const timing = { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 };
const lease = (holderIdentity: string | undefined, renewedAt: string): V1Lease => ({
  metadata: { name: 'sandpod-operator', namespace: 'sandpod-system', resourceVersion: '7' },
  spec: { holderIdentity, leaseDurationSeconds: 15, renewTime: new Date(renewedAt), leaseTransitions: 2 },
});

describe('leaseDecision', () => {
  const cases: [string, V1Lease | undefined, string][] = [
    ['no Lease yet', undefined, 'create'],
    ['a Lease this process holds', lease('me', '2026-01-01T10:00:19Z'), 'renew'],
    ['a Lease another holds and renewed 5 s ago', lease('other', '2026-01-01T10:00:15Z'), 'wait'],
    ['a Lease another let lapse 15 s ago', lease('other', '2026-01-01T10:00:05Z'), 'takeOver'],
    ['a released Lease', lease(undefined, '2026-01-01T10:00:19Z'), 'takeOver'],
  ];
  for (const [name, current, expected] of cases) {
    it(`should ${expected} given ${name}`, () => assert.equal(leaseDecision(current, 'me', now), expected));
  }
});

describe('claimedLease', () => {
  it('should count a transition and keep the resourceVersion when taking over', () => {
    const claimed = claimedLease(
      lease('other', '2026-01-01T10:00:00Z'),
      'me',
      now,
      timing,
      'sandpod-operator',
      'sandpod-system',
    );
    assert.equal(claimed.spec?.holderIdentity, 'me');
    assert.equal(claimed.spec?.leaseTransitions, 3);
    assert.equal(claimed.metadata?.resourceVersion, '7');
    assert.equal(new Date(claimed.spec?.renewTime ?? 0).toISOString(), '2026-01-01T10:00:20.000Z');
  });

  it('should keep acquireTime and transitions when renewing', () => {
    const held = lease('me', '2026-01-01T10:00:18Z');
    if (held.spec) held.spec.acquireTime = new Date('2026-01-01T09:00:00Z');
    const claimed = claimedLease(held, 'me', now, timing, 'sandpod-operator', 'sandpod-system');
    assert.equal(claimed.spec?.leaseTransitions, 2);
    assert.equal(new Date(claimed.spec?.acquireTime ?? 0).toISOString(), '2026-01-01T09:00:00.000Z');
  });
});

describe('LeaderElector', () => {
  it('should say how to fix it when the Lease namespace does not exist', async () => {
    const notFound = () => Promise.reject(new ApiException(404, 'Not Found', '{"reason":"NotFound"}', {}));
    const api = { readNamespacedLease: notFound, createNamespacedLease: notFound } as unknown as CoordinationV1Api;
    const warnings: string[] = [];
    const log = winston.createLogger({ silent: true });
    const elector = new LeaderElector({
      api,
      name: 'sandpod-operator',
      namespace: 'sandpod-system',
      identity: 'me',
      timing: { ...timing, retryPeriodSeconds: 0.01 },
      log,
    });
    log.warn = ((message: string, meta: { error: string }) => {
      warnings.push(`${message}: ${meta.error}`);
      void elector.release();
      return log;
    }) as unknown as typeof log.warn;
    await assert.rejects(elector.acquire(), /stopped before the Lease was acquired/);
    assert.match(
      warnings[0] ?? '',
      /namespace sandpod-system does not exist; create it \(kubectl apply -f manifests\/rbac\/\)/,
    );
  });
});
