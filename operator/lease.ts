import type { V1Lease } from '@kubernetes/client-node';
import { toDate } from './time.js';

// The decisions of leader election on a coordination.k8s.io Lease, as client-go's leaderelection
// makes them: the holder renews the Lease every retry period; others take it over once it has not
// been renewed for its duration. Pure; leader.ts does the reading and writing.

export interface LeaseTiming {
  leaseDurationSeconds: number;
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
}

export type LeaseDecision = 'create' | 'renew' | 'takeOver' | 'wait';

/** What a candidate should do about the Lease as it reads now. */
export function leaseDecision(lease: V1Lease | undefined, identity: string, now: Date): LeaseDecision {
  if (!lease) return 'create';
  const holder = lease.spec?.holderIdentity;
  if (holder === identity) return 'renew';
  if (!holder) return 'takeOver';
  const renewed = toDate(lease.spec?.renewTime as Date | string | undefined);
  const durationMs = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  if (!renewed || renewed.getTime() + durationMs <= now.getTime()) return 'takeOver';
  return 'wait';
}

/** The Lease after this candidate acquires or renews it. */
export function claimedLease(
  lease: V1Lease | undefined,
  identity: string,
  now: Date,
  timing: LeaseTiming,
  name: string,
  namespace: string,
): V1Lease {
  const kept = lease?.spec?.holderIdentity === identity;
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { ...(lease?.metadata ?? {}), name, namespace },
    spec: {
      holderIdentity: identity,
      leaseDurationSeconds: timing.leaseDurationSeconds,
      acquireTime: kept ? lease?.spec?.acquireTime : now,
      renewTime: now,
      leaseTransitions: (lease?.spec?.leaseTransitions ?? 0) + (kept || !lease ? 0 : 1),
    },
  };
}
