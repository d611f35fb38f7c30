import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { CustomObjectsApi, KubeConfig, type KubernetesListObject } from '@kubernetes/client-node';
import type winston from 'winston';
import { API_GROUP, API_VERSION } from '../../contract/crd.js';
import { type ObjectWatch, WatchedObjects } from '../../kube/watched-objects.js';
import type { Runtime } from '../../operator/objects.js';
import type { Config } from '../config.js';
import { DEFAULT_TENANT_NAME } from '../tenancy/tenant.js';
import { KubernetesBackend } from './backend.js';
import { EXECUTION_PLURAL, type ExecutionObject, RUNTIME_PLURAL, slimExecution } from './execution-object.js';
import { tenantNamespaces } from './names.js';
import { NamespacedWatches } from './namespaced-watches.js';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * KUBECONFIG, else ~/.kube/config, else the pod's service account. Without any of them the client
 * would quietly aim at http://localhost:8080; the gateway says what is missing instead.
 */
export function defaultKubeConfig(env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const found =
    Boolean(env.KUBECONFIG) || existsSync(join(homedir(), '.kube', 'config')) || existsSync(SERVICE_ACCOUNT_TOKEN);
  if (!found) {
    throw new Error(
      'no Kubernetes credentials: set KUBECONFIG (the dev cluster writes .sandpod/kubeconfig), ' +
        'create ~/.kube/config, or run the gateway in a pod with a service account',
    );
  }
  const kubeConfig = new KubeConfig();
  const [first, ...more] = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (!first) {
    kubeConfig.loadFromDefault();
    return kubeConfig;
  }
  kubeConfig.loadFromFile(first);
  for (const file of more) {
    const merged = new KubeConfig();
    merged.loadFromFile(file);
    kubeConfig.mergeConfig(merged);
  }
  return kubeConfig;
}

/**
 * Starts watching Executions and Runtimes and returns the backend. An unreachable API server does
 * not stop it: readiness says why it is not ready, and the watches keep trying.
 */
export async function createKubernetesBackend(
  config: Config,
  log: winston.Logger,
  kubeConfig: KubeConfig = defaultKubeConfig(),
): Promise<KubernetesBackend> {
  const settings = config.kubernetes;
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const base = `/apis/${API_GROUP}/${API_VERSION}`;
  const backoff = { baseMs: settings.rewatchBaseDelayMs, maxMs: settings.rewatchMaxDelayMs };
  const group = { group: API_GROUP, version: API_VERSION };

  const watchExecutions = (namespace: string | undefined) =>
    new WatchedObjects<ExecutionObject>({
      kubeConfig,
      path: namespace ? `${base}/namespaces/${namespace}/${EXECUTION_PLURAL}` : `${base}/${EXECUTION_PLURAL}`,
      list: () =>
        (namespace
          ? custom.listNamespacedCustomObject({ ...group, namespace, plural: EXECUTION_PLURAL })
          : custom.listClusterCustomObject({ ...group, plural: EXECUTION_PLURAL })) as Promise<
          KubernetesListObject<ExecutionObject>
        >,
      kind: namespace ? `Execution in ${namespace}` : 'Execution',
      log,
      backoff,
      slim: slimExecution,
    });
  const namespaces =
    settings.watch === 'all'
      ? undefined
      : tenantNamespaces(
          config.tenants.map((tenant) => tenant.name),
          DEFAULT_TENANT_NAME,
          settings,
        );
  const executionWatches = namespaces
    ? new Map(namespaces.map((namespace) => [namespace, watchExecutions(namespace)]))
    : new Map([['', watchExecutions(undefined)]]);
  const executions: ObjectWatch<ExecutionObject> = namespaces
    ? new NamespacedWatches(executionWatches)
    : (executionWatches.get('') as WatchedObjects<ExecutionObject>);

  const runtimes = new WatchedObjects<Runtime>({
    kubeConfig,
    path: `${base}/${RUNTIME_PLURAL}`,
    list: () =>
      custom.listClusterCustomObject({ ...group, plural: RUNTIME_PLURAL }) as Promise<KubernetesListObject<Runtime>>,
    kind: 'Runtime',
    log,
    backoff,
  });

  await Promise.all([...[...executionWatches.values()].map((watch) => watch.start()), runtimes.start()]);
  const problem = executions.problem ?? runtimes.problem;
  if (problem) log.warn('Started without the API server; will keep trying', { reason: problem });
  else {
    log.info('Watched Executions and Runtimes', {
      server: kubeConfig.getCurrentCluster()?.server,
      namespaces: namespaces ?? 'all',
      runtimes: runtimes.list().length,
    });
  }
  return new KubernetesBackend({ kubeConfig, custom, executions, runtimes, settings, log });
}
