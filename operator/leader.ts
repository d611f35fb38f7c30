import { ApiException, type CoordinationV1Api, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { claimedLease, type LeaseTiming, leaseDecision } from './lease.js';

// Leader election on a coordination.k8s.io Lease (the decisions are in lease.ts). Updates carry
// the resourceVersion, so two candidates never both win a race.

export interface LeaderElectorOptions {
  api: CoordinationV1Api;
  name: string;
  namespace: string;
  identity: string;
  timing: LeaseTiming;
  log: Logger;
  now?: () => Date;
}

/**
 * Resolves once this process leads; afterwards calls onLost if a renewal has not succeeded within
 * renewDeadlineSeconds. A process that lost the lease must stop working at once: main exits.
 */
export class LeaderElector {
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenewal = 0;
  private readonly now: () => Date;

  constructor(private readonly options: LeaderElectorOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async acquire(): Promise<void> {
    const { retryPeriodSeconds } = this.options.timing;
    while (!this.stopped) {
      // An API server that is away for a moment is no reason to give up the election.
      const claimed = await this.tryClaim().catch((error: unknown) => {
        this.options.log.warn('Failed to read or write the leader Lease; will retry', {
          lease: this.options.name,
          error: error instanceof Error ? error.message : String(error),
        });
        return false;
      });
      if (claimed) {
        this.options.log.info('Acquired leader Lease', { lease: this.options.name, identity: this.options.identity });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, retryPeriodSeconds * 1000));
    }
    throw new Error('leader election stopped before the Lease was acquired');
  }

  keepRenewing(onLost: () => void): void {
    const { retryPeriodSeconds, renewDeadlineSeconds } = this.options.timing;
    const tick = async () => {
      if (this.stopped) return;
      const renewed = await this.tryClaim().catch(() => false);
      if (!renewed && this.now().getTime() - this.lastRenewal > renewDeadlineSeconds * 1000) {
        this.options.log.error('Lost leader Lease', { lease: this.options.name, identity: this.options.identity });
        this.stopped = true;
        onLost();
        return;
      }
      this.timer = setTimeout(tick, retryPeriodSeconds * 1000);
    };
    this.timer = setTimeout(tick, retryPeriodSeconds * 1000);
  }

  /** Gives the Lease up so a successor need not wait out its duration. */
  async release(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const { api, name, namespace, identity } = this.options;
    const lease = await this.read();
    if (lease?.spec?.holderIdentity !== identity) return;
    const released: V1Lease = { ...lease, spec: { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1 } };
    await api.replaceNamespacedLease({ name, namespace, body: released }).catch(() => undefined);
  }

  private async tryClaim(): Promise<boolean> {
    const { api, name, namespace, identity, timing } = this.options;
    const now = this.now();
    const lease = await this.read();
    const decision = leaseDecision(lease, identity, now);
    if (decision === 'wait') return false;
    const body = asMicroTimes(claimedLease(lease, identity, now, timing, name, namespace));
    try {
      if (decision === 'create') await api.createNamespacedLease({ namespace, body });
      else await api.replaceNamespacedLease({ name, namespace, body });
      this.lastRenewal = now.getTime();
      return true;
    } catch (error) {
      // Someone else wrote the Lease first (409 on both create and stale update): not ours this round.
      if (error instanceof ApiException && error.code === 409) return false;
      if (decision === 'create' && error instanceof ApiException && error.code === 404) {
        throw new Error(
          `cannot create the leader Lease ${namespace}/${name}: namespace ${namespace} does not exist; ` +
            'create it (kubectl apply -f manifests/rbac/), or set leaderElection.leaseNamespace (POD_NAMESPACE), ' +
            'or leaderElection.enabled: false for a single local operator',
        );
      }
      throw error;
    }
  }

  private async read(): Promise<V1Lease | undefined> {
    const { api, name, namespace } = this.options;
    try {
      return await api.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    }
  }
}

/** The API server wants Lease times with microseconds, which V1MicroTime writes. */
function asMicroTimes(lease: V1Lease): V1Lease {
  const micro = (date: Date | undefined) => (date ? new V1MicroTime(new Date(date).getTime()) : undefined);
  return {
    ...lease,
    spec: { ...lease.spec, acquireTime: micro(lease.spec?.acquireTime), renewTime: micro(lease.spec?.renewTime) },
  };
}
