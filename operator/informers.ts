import {
  type CoreV1Api,
  type CustomObjectsApi,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  type ObjectCache,
  type V1Pod,
} from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { API_GROUP, API_VERSION } from '../contract/crd.js';
import { isTerminal } from '../contract/index.js';
import { type Execution, executionKey, MANAGED_SELECTOR, type Runtime } from './objects.js';
import type { ClusterCache } from './reconciler.js';

// Three watches feed the queue: Executions, the operator's pods, and Runtimes. Callbacks only
// enqueue `namespace/name`; the reconciler reads the caches. ListWatch relists on 410 Gone and
// reconnects with backoff by itself.

type Watched<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

export interface Informers {
  executions: Watched<Execution>;
  pods: Watched<V1Pod>;
  runtimes: Watched<Runtime>;
  cache: ClusterCache;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createInformers(options: {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  namespace: string;
  enqueue: (key: string) => void;
  log: Logger;
}): Informers {
  const { kubeConfig, core, custom, namespace, enqueue, log } = options;
  const base = `/apis/${API_GROUP}/${API_VERSION}`;
  const executions = makeInformer<Execution>(
    kubeConfig,
    namespace ? `${base}/namespaces/${namespace}/executions` : `${base}/executions`,
    () =>
      (namespace
        ? custom.listNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: 'executions' })
        : custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: 'executions' })) as Promise<
        KubernetesListObject<Execution>
      >,
  );
  const runtimes = makeInformer<Runtime>(
    kubeConfig,
    `${base}/runtimes`,
    () =>
      custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: 'runtimes' }) as Promise<
        KubernetesListObject<Runtime>
      >,
  );
  const pods = makeInformer<V1Pod>(
    kubeConfig,
    namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods',
    () =>
      namespace
        ? core.listNamespacedPod({ namespace, labelSelector: MANAGED_SELECTOR })
        : core.listPodForAllNamespaces({ labelSelector: MANAGED_SELECTOR }),
    MANAGED_SELECTOR,
  );

  const onExecution = (execution: Execution) =>
    enqueue(executionKey(execution.metadata.namespace, execution.metadata.name));
  // A finished or deleted Execution frees a slot of its namespace: its waiting siblings may start.
  const onSlotFreed = (execution: Execution) => {
    for (const sibling of executions.list(execution.metadata.namespace)) {
      if (!sibling.status?.podName && !(sibling.status?.phase && isTerminal(sibling.status.phase)))
        onExecution(sibling);
    }
  };
  executions.on('add', onExecution);
  executions.on('update', (execution) => {
    onExecution(execution);
    if (execution.status?.phase && isTerminal(execution.status.phase)) onSlotFreed(execution);
  });
  executions.on('delete', (execution) => {
    onExecution(execution);
    onSlotFreed(execution);
  });

  const onPod = (pod: V1Pod) => {
    const owner = pod.metadata?.ownerReferences?.find((ref) => ref.controller && ref.kind === 'Execution');
    if (owner && pod.metadata?.namespace) enqueue(executionKey(pod.metadata.namespace, owner.name));
  };
  for (const verb of ['add', 'update', 'delete'] as const) pods.on(verb, onPod);

  // A Runtime appearing or changing may unblock Executions that wait for it.
  const onRuntime = () => {
    for (const execution of executions.list()) {
      if (!execution.status?.phase || !isTerminal(execution.status.phase)) onExecution(execution);
    }
  };
  for (const verb of ['add', 'update'] as const) runtimes.on(verb, onRuntime);

  for (const [name, informer] of [
    ['Execution', executions],
    ['Pod', pods],
    ['Runtime', runtimes],
  ] as const) {
    informer.on('error', (error: unknown) =>
      log.warn('Lost watch; reconnecting', {
        kind: name,
        error: error instanceof Error ? error.message : String(error),
      }),
    );
  }

  const cache: ClusterCache = {
    execution: (ns, name) => executions.get(name, ns),
    executions: (ns) => executions.list(ns),
    pod: (ns, name) => pods.get(name, ns),
    runtimes: () => runtimes.list(),
  };
  return {
    executions,
    pods,
    runtimes,
    cache,
    // Runtimes and pods first, so the first pass over Executions sees their world.
    async start() {
      await Promise.all([runtimes.start(), pods.start()]);
      await executions.start();
    },
    async stop() {
      await Promise.all([executions.stop(), pods.stop(), runtimes.stop()]);
    },
  };
}
