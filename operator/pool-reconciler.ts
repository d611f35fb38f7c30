import { isDeepStrictEqual } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { WarmPoolStatus } from '../contract/crd.js';
import { findRuntime, type Runtime, type WarmPool } from '../contract/objects.js';
import type { Policy } from './config.js';
import { parseKey } from './keys.js';
import { desiredPoolPod, isPoolMember, planPool, poolSelector, poolSize, templateOf } from './warm-pool.js';

// reconcilePool(namespace/name): keep spec.replicas unclaimed pods of a WarmPool, ended and
// outdated ones replaced, the surplus removed, and status.replicas/readyReplicas written. A pod an
// Execution claimed is no longer the pool's (its controller is the Execution), so the pool makes a
// replacement on the pass the claim's watch event brings.

export interface PoolApi {
  /** Creates a pod from its generateName; resolves the name given. */
  createPoolPod(pod: V1Pod): Promise<string>;
  deletePod(namespace: string, name: string): Promise<void>;
  replacePoolStatus(pool: WarmPool, status: WarmPoolStatus): Promise<void>;
  recordPoolEvent(pool: WarmPool, type: 'Normal' | 'Warning', reason: string, note: string): Promise<void>;
}

export interface PoolCache {
  pool(namespace: string, name: string): WarmPool | undefined;
  /** Pods labelled with the pool's name, claimed or not. */
  poolPods(namespace: string, name: string): V1Pod[];
  runtimes(): Iterable<Runtime>;
}

/** How long a pod made here counts as on its way into the cache. */
const PENDING_CREATE_MS = 30_000;
/** How soon to look again at a pool whose pods are starting. */
const STARTING_RECHECK_MS = 2_000;

export class PoolReconciler {
  /** Per pool key, pods this process made that the cache did not show yet, with when. */
  private readonly created = new Map<string, Map<string, number>>();
  /** Per pool key, whether the Warning about its runtime was given already. */
  private readonly warned = new Set<string>();

  constructor(
    private readonly api: PoolApi,
    private readonly cache: PoolCache,
    private readonly policy: Policy,
    private readonly log: Logger,
    private readonly nowMs: () => number = () => Date.now(),
  ) {}

  async reconcile(key: string): Promise<{ requeueAfterMs?: number }> {
    const { namespace, name } = parseKey(key);
    const pool = this.cache.pool(namespace, name);
    if (!pool) {
      this.created.delete(key);
      this.warned.delete(key);
      return {};
    }
    const log = this.log.child({ warmPool: key });
    const runtime = findRuntime(this.cache.runtimes(), pool.spec.runtime);
    const labelled = this.cache.poolPods(namespace, name);
    const members = labelled.filter((pod) => isPoolMember(pod, pool));
    if (!runtime) {
      if (!this.warned.has(key)) {
        this.warned.add(key);
        await this.event(pool, 'Warning', 'RuntimeNotFound', `no Runtime named ${pool.spec.runtime}`);
      }
      await this.writeStatus(pool, { replicas: members.length, readyReplicas: 0 });
      return {};
    }
    this.warned.delete(key);
    const template = desiredPoolPod(pool, runtime, poolSize(pool, runtime, this.policy), this.policy.pod);
    const pending = this.pendingCreates(key, labelled);
    const plan = planPool(members, templateOf(template) ?? '', pool.spec.replicas, pending.size);
    for (const pod of plan.remove) {
      await this.api.deletePod(namespace, pod.metadata?.name ?? '');
      log.info('Deleted pool Pod', { pod: pod.metadata?.name, phase: pod.status?.phase });
    }
    for (let made = 0; made < plan.create; made += 1) {
      const podName = await this.api.createPoolPod(template);
      pending.set(podName, this.nowMs());
      log.info('Created pool Pod', { pod: podName });
      await this.event(pool, 'Normal', 'PodCreated', `Created pod ${podName}`);
    }
    await this.writeStatus(pool, { replicas: plan.replicas + plan.create, readyReplicas: plan.readyReplicas });
    const starting = plan.create > 0 || plan.readyReplicas < plan.replicas;
    return starting ? { requeueAfterMs: STARTING_RECHECK_MS } : {};
  }

  /**
   * Pods made here that the cache does not show yet; those it shows (claimed ones too), or made
   * long ago, are forgotten.
   */
  private pendingCreates(key: string, seenPods: V1Pod[]): Map<string, number> {
    const pending = this.created.get(key) ?? new Map<string, number>();
    this.created.set(key, pending);
    const seen = new Set(seenPods.map((pod) => pod.metadata?.name));
    for (const [podName, at] of pending) {
      if (seen.has(podName) || this.nowMs() - at > PENDING_CREATE_MS) pending.delete(podName);
    }
    return pending;
  }

  private async writeStatus(pool: WarmPool, counts: { replicas: number; readyReplicas: number }): Promise<void> {
    const status: WarmPoolStatus = {
      ...counts,
      selector: poolSelector(pool),
      observedGeneration: pool.metadata.generation ?? 0,
    };
    if (isDeepStrictEqual(pool.status, status)) return;
    await this.api.replacePoolStatus(pool, status);
  }

  private async event(pool: WarmPool, type: 'Normal' | 'Warning', reason: string, note: string): Promise<void> {
    try {
      await this.api.recordPoolEvent(pool, type, reason, note);
    } catch (error) {
      this.log.warn('Failed to record Event', {
        warmPool: `${pool.metadata.namespace}/${pool.metadata.name}`,
        reason,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
