import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig, type KubernetesListObject } from '@kubernetes/client-node';
import type winston from 'winston';
import { API_GROUP, API_VERSION } from '../../contract/crd.js';
import type { Runtime } from '../../contract/objects.js';
import { EXECUTION_PLURAL, type ExecutionObject, RUNTIME_PLURAL } from '../../contract/objects.js';
import { PooledKubeConfig } from '../../kube/pooled-kube-config.js';
import { type ObjectWatch, WatchedObjects } from '../../kube/watched-objects.js';
import { errorMessage } from '../../observability/logger.js';
import type { Config } from '../config.js';
import { DEFAULT_TENANT_NAME } from '../tenancy/tenant.js';
import { configuredTenants } from '../tenancy/tenant-directory.js';
import { KubernetesBackend } from './backend.js';
import { slimExecution } from './execution-object.js';
import { namespaceSettingsOf, tenantNamespace, tenantNamespaces } from './names.js';
import { NamespacedWatches } from './namespaced-watches.js';
import { TenantsSecret } from './tenants-secret.js';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * KUBECONFIG, else ~/.kube/config, else the pod's service account. Without any of them the client
 * would quietly aim at http://localhost:8080; the gateway says what is missing instead.
 */
export function defaultKubeConfig(
  env: NodeJS.ProcessEnv = process.env,
  places: { home: string; serviceAccountToken: string } = {
    home: homedir(),
    serviceAccountToken: SERVICE_ACCOUNT_TOKEN,
  },
): KubeConfig {
  const found =
    Boolean(env.KUBECONFIG) ||
    existsSync(join(places.home, '.kube', 'config')) ||
    existsSync(places.serviceAccountToken);
  if (!found) {
    throw new Error(
      'no Kubernetes credentials: set KUBECONFIG (the dev cluster writes .sandpod/kubeconfig), ' +
        'create ~/.kube/config, or run the gateway in a pod with a service account',
    );
  }
  // One connection pool for every request, as the operator has: client-node would otherwise pay
  // a TLS handshake per API call (kube/pooled-kube-config.ts).
  const kubeConfig = new PooledKubeConfig();
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
  const tenantsSecret = settings.tenantsSecret
    ? new TenantsSecret({
        kubeConfig,
        core: kubeConfig.makeApiClient(CoreV1Api),
        ref: settings.tenantsSecret,
        defaults: config,
        namespaces: settings,
        log,
        backoff,
      })
    : undefined;
  await tenantsSecret?.start();
  const tenants = tenantsSecret?.tenants ?? configuredTenants(config);
  const namespacesOfTenants = () => {
    const namespaceSettings = namespaceSettingsOf(settings, tenants);
    const names = tenants.entries().map(({ tenant }) => tenant.name);
    // Loopback mode serves the `default` tenant; a Secret's tenants are all there is.
    return tenantsSecret
      ? [...new Set(names.map((name) => tenantNamespace(name, namespaceSettings)))].sort()
      : tenantNamespaces(names, DEFAULT_TENANT_NAME, namespaceSettings);
  };

  let executions: ObjectWatch<ExecutionObject>;
  let firstWatches: Promise<void>;
  if (settings.watch === 'all') {
    const all = watchExecutions(undefined);
    executions = all;
    firstWatches = all.start();
  } else if (tenantsSecret) {
    // The namespaces follow the Secret's tenants: a tenant added gets its namespace watched.
    const followed = new NamespacedWatches<ExecutionObject>(new Map(), watchExecutions);
    tenants.onChange(() => {
      followed.watchOnly(namespacesOfTenants()).catch((error: unknown) => {
        log.error('Failed to change the namespaces watched', { error: errorMessage(error) });
      });
    });
    executions = followed;
    firstWatches = followed.watchOnly(namespacesOfTenants());
  } else {
    const fixed = new Map(namespacesOfTenants().map((namespace) => [namespace, watchExecutions(namespace)]));
    executions = new NamespacedWatches(fixed);
    firstWatches = Promise.all([...fixed.values()].map((watch) => watch.start())).then(() => undefined);
  }

  const runtimes = new WatchedObjects<Runtime>({
    kubeConfig,
    path: `${base}/${RUNTIME_PLURAL}`,
    list: () =>
      custom.listClusterCustomObject({ ...group, plural: RUNTIME_PLURAL }) as Promise<KubernetesListObject<Runtime>>,
    kind: 'Runtime',
    log,
    backoff,
  });

  await Promise.all([firstWatches, runtimes.start()]);
  const problem = tenantsSecret?.unreadyReason ?? executions.problem ?? runtimes.problem;
  if (problem) log.warn('Started without the API server or tenants; will keep trying', { reason: problem });
  else {
    log.info('Watched Executions and Runtimes', {
      server: kubeConfig.getCurrentCluster()?.server,
      namespaces: executions instanceof NamespacedWatches ? executions.namespaces() : 'all',
      runtimes: runtimes.list().length,
      tenants: tenants.entries().length,
    });
  }
  return new KubernetesBackend({ kubeConfig, custom, executions, runtimes, settings, tenants, tenantsSecret, log });
}
