import type { CoreV1Api, CustomObjectsApi, KubeConfig, KubernetesListObject, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { API_GROUP, API_VERSION } from '../contract/crd.js';
import { isTerminal } from '../contract/index.js';
import {
  EXECUTION_PLURAL,
  type Execution,
  LABELS,
  MANAGED_SELECTOR,
  RUNTIME_PLURAL,
  type Runtime,
  WARM_POOL_PLURAL,
  type WarmPool,
} from '../contract/objects.js';
import { WatchedObjects } from '../kube/watched-objects.js';
import { slimExecution } from './cached-execution.js';
import { executionKey } from './keys.js';
import type { PoolCache } from './pool-reconciler.js';
import type { ClusterCache } from './reconciler.js';

// Four watches feed the queues: Executions, the operator's pods, Runtimes and WarmPools. Callbacks only
// enqueue `namespace/name`; the reconciler reads the caches. Each watch is the list-watch the
// gateway uses too (kube/watched-objects.ts): it relists on 410 Gone and starts again with backoff
// after any other error, so an API server that was away for a while misses no change.

/**
 * The caches keep objects without metadata.managedFields, often the largest part of an object and
 * read by nobody here (Executions are slimmed further, operator/cached-execution.ts). Status is
 * written back with the cached object as body: a PUT without the field leaves the server's
 * managedFields as they are (server-side apply docs, "Clearing managedFields": only an explicit
 * `[{}]` strips them), and a PUT to the status subresource takes nothing but status from its body
 * (the API server copies the rest from the stored object), so the emptied payload stays stored.
 */
export function withoutManagedFields<T extends { metadata?: { managedFields?: unknown } }>(object: T): T {
  if (!object.metadata?.managedFields) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata } as T;
}

/** Objects per list request of the Execution and Pod watches (client-go's informers take 500). */
const LIST_PAGE_SIZE = 500;

export interface WatchBackoff {
  baseMs: number;
  maxMs: number;
}

export interface Informers {
  executions: WatchedObjects<Execution>;
  pods: WatchedObjects<V1Pod>;
  runtimes: WatchedObjects<Runtime>;
  pools: WatchedObjects<WarmPool>;
  cache: ClusterCache & PoolCache;
  /** Why a cache may be stale, or undefined while every watch is up. */
  readonly problem: string | undefined;
  /** Starts the watches; resolves once each has listed once (it keeps trying until then). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createInformers(options: {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  namespace: string;
  enqueue: (key: string) => void;
  /** Queues a WarmPool's `namespace/name`. */
  enqueuePool: (key: string) => void;
  log: Logger;
  backoff: WatchBackoff;
}): Informers {
  const { kubeConfig, core, custom, namespace, enqueue, enqueuePool, log, backoff } = options;
  const base = `/apis/${API_GROUP}/${API_VERSION}`;
  const group = { group: API_GROUP, version: API_VERSION };
  const executions = new WatchedObjects<Execution>({
    kubeConfig,
    path: namespace ? `${base}/namespaces/${namespace}/executions` : `${base}/executions`,
    list: (page) =>
      (namespace
        ? custom.listNamespacedCustomObject({ ...group, namespace, plural: EXECUTION_PLURAL, ...page })
        : custom.listClusterCustomObject({ ...group, plural: EXECUTION_PLURAL, ...page })) as Promise<
        KubernetesListObject<Execution>
      >,
    pageSize: LIST_PAGE_SIZE,
    kind: 'Execution',
    log,
    backoff,
    slim: slimExecution,
  });
  const runtimes = new WatchedObjects<Runtime>({
    kubeConfig,
    path: `${base}/runtimes`,
    list: () =>
      custom.listClusterCustomObject({ ...group, plural: RUNTIME_PLURAL }) as Promise<KubernetesListObject<Runtime>>,
    kind: 'Runtime',
    log,
    backoff,
  });
  const pools = new WatchedObjects<WarmPool>({
    kubeConfig,
    path: namespace ? `${base}/namespaces/${namespace}/warmpools` : `${base}/warmpools`,
    list: () =>
      (namespace
        ? custom.listNamespacedCustomObject({ ...group, namespace, plural: WARM_POOL_PLURAL })
        : custom.listClusterCustomObject({ ...group, plural: WARM_POOL_PLURAL })) as Promise<
        KubernetesListObject<WarmPool>
      >,
    kind: 'WarmPool',
    log,
    backoff,
    slim: withoutManagedFields,
  });
  const pods = new WatchedObjects<V1Pod>({
    kubeConfig,
    path: namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods',
    list: (page) =>
      namespace
        ? core.listNamespacedPod({ namespace, labelSelector: MANAGED_SELECTOR, ...page })
        : core.listPodForAllNamespaces({ labelSelector: MANAGED_SELECTOR, ...page }),
    pageSize: LIST_PAGE_SIZE,
    labelSelector: MANAGED_SELECTOR,
    kind: 'Pod',
    log,
    backoff,
    slim: withoutManagedFields,
  });

  const onExecution = (execution: Execution) =>
    enqueue(executionKey(execution.metadata.namespace, execution.metadata.name));
  // A finished or deleted Execution frees a slot of its namespace: its waiting siblings may start.
  const onSlotFreed = (execution: Execution) => {
    for (const sibling of executions.list(execution.metadata.namespace)) {
      if (!sibling.status?.podName && !(sibling.status?.phase && isTerminal(sibling.status.phase)))
        onExecution(sibling);
    }
  };
  executions.onChange((execution, change) => {
    onExecution(execution);
    const terminal = execution.status?.phase !== undefined && isTerminal(execution.status.phase);
    if (change === 'delete' || (change === 'update' && terminal)) onSlotFreed(execution);
  });

  pods.onChange((pod) => {
    const owner = pod.metadata?.ownerReferences?.find((ref) => ref.controller && ref.kind === 'Execution');
    if (owner && pod.metadata?.namespace) enqueue(executionKey(pod.metadata.namespace, owner.name));
    // A pool pod that became ready, ended, or was claimed: its pool counts again.
    const pool = pod.metadata?.labels?.[LABELS.pool];
    if (pool && pod.metadata?.namespace) enqueuePool(executionKey(pod.metadata.namespace, pool));
  });
  pools.onChange((pool) => enqueuePool(executionKey(pool.metadata.namespace, pool.metadata.name)));

  // A Runtime appearing or changing may unblock Executions that wait for it.
  runtimes.onChange((_runtime, change) => {
    for (const pool of pools.list()) enqueuePool(executionKey(pool.metadata.namespace, pool.metadata.name));
    if (change === 'delete') return;
    for (const execution of executions.list()) {
      if (!execution.status?.phase || !isTerminal(execution.status.phase)) onExecution(execution);
    }
  });

  const cache: ClusterCache & PoolCache = {
    execution: (ns, name) => executions.get(ns, name),
    executions: (ns) => executions.list(ns),
    pod: (ns, name) => pods.get(ns, name),
    runtimes: () => runtimes.list(),
    pool: (ns, name) => pools.get(ns, name),
    pools: (ns) => pools.list(ns),
    poolPods: (ns, name) => pods.list(ns).filter((pod) => pod.metadata?.labels?.[LABELS.pool] === name),
    claimedPod: (ns, execution) =>
      pods
        .list(ns)
        .find((pod) =>
          pod.metadata?.ownerReferences?.some((ref) => ref.controller && ref.uid === execution.metadata.uid),
        ),
  };
  const all = [executions, pods, runtimes, pools];
  return {
    executions,
    pods,
    runtimes,
    pools,
    cache,
    get problem() {
      return all.map((watch) => watch.problem).find((problem) => problem !== undefined);
    },
    // Runtimes and pods first, so the first pass over Executions sees their world. Without a
    // first list of each the reconciler must not run: an empty Runtime cache would fail every
    // Execution as naming a Runtime that does not exist.
    async start() {
      await Promise.all([runtimes.start(), pods.start(), pools.start()]);
      await Promise.all([runtimes.synced, pods.synced, pools.synced]);
      await executions.start();
      await executions.synced;
    },
    async stop() {
      await Promise.all(all.map((watch) => watch.stop()));
    },
  };
}
