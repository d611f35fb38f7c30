import { readdirSync } from 'node:fs';
import { DEFAULT_LIMITS, DEFAULT_MAX_LIMITS } from '../../contract/index.js';
import { type Config, parseConfig } from '../../gateway/config.js';
import type { KubernetesBackend } from '../../gateway/kubernetes/backend.js';
import { createKubernetesBackend } from '../../gateway/kubernetes/index.js';
import {
  createNamespace,
  deleteNamespace,
  installCrds,
  kubectl,
  loadKubeConfig,
  type RunningOperator,
  repoPath,
  runtimeClassExists,
  runtimeNames,
  runtimesWithoutImages,
  startOperator,
} from './cluster-suite.js';
import { type RunningGateway, startGateway, testLogger } from './gateway.js';

// A gateway on the Kubernetes backend of the dev cluster, for the suites that drive the gateway
// the same way on both backends: the CRDs and default Runtimes installed, a namespace of the run's
// own where every tenant lives, and operator/main.ts watching it.

/** The default Runtimes of manifests/runtimes that the cluster lacks; existing ones are left alone. */
export function createMissingRuntimes(): void {
  const present = new Set(runtimeNames());
  for (const file of readdirSync(repoPath('manifests/runtimes/'))) {
    if (present.has(file.replace(/\.yaml$/, ''))) continue;
    const created = kubectl(['create', '-f', repoPath(`manifests/runtimes/${file}`)]);
    if (!created.ok && !/AlreadyExists/.test(created.out)) throw new Error(created.out);
  }
}

/** Says on stderr which of the runtimes the tests use cannot start on the node. */
export function warnOfRuntimesWithoutImages(names = ['python', 'javascript', 'c', 'cpp', 'bash']): void {
  const withoutImages = runtimesWithoutImages(names);
  if (withoutImages.length > 0) {
    console.error(
      `WARNING: no node has the image of Runtime ${withoutImages.join(', ')}; their executions will fail ` +
        '(build the runtime images into the dev cluster, see dev-cluster/images)',
    );
  }
}

/** The operator's policy in the cluster suites: gVisor when the node has it, the default limits. */
export function operatorPolicy(limits = { defaults: DEFAULT_LIMITS, maxima: DEFAULT_MAX_LIMITS }) {
  return { pod: { runtimeClassName: runtimeClassExists('gvisor') ? 'gvisor' : '' }, limits };
}

/** The cluster side of a suite: a namespace and its operator, until `stop`. */
export interface ClusterNamespace {
  namespace: string;
  operator: RunningOperator;
  stop(): Promise<void>;
}

export async function startClusterNamespace(prefix: string): Promise<ClusterNamespace> {
  installCrds();
  createMissingRuntimes();
  warnOfRuntimesWithoutImages();
  const namespace = `${prefix}-${process.pid}-${Date.now().toString(36)}`;
  createNamespace(namespace);
  const operator = await startOperator(namespace, operatorPolicy()).catch((error: unknown) => {
    deleteNamespace(namespace);
    throw error;
  });
  return {
    namespace,
    operator,
    stop: async () => {
      await operator.stop();
      deleteNamespace(namespace);
    },
  };
}

export interface ClusterGateway extends RunningGateway {
  backend: KubernetesBackend;
  config: Config;
}

/**
 * A gateway replica on the Kubernetes backend, its `tenants` (as in the gateway configuration,
 * none for a gateway without tokens) all living in `namespace`; `settings` over the rest of the configuration.
 */
export async function startClusterGateway(
  namespace: string,
  tenants: ({ name: string } & Record<string, unknown>)[],
  settings: Record<string, unknown> = {},
): Promise<ClusterGateway> {
  const config = parseConfig({
    ...settings,
    backend: 'kubernetes',
    tenants,
    // Without tenants the gateway serves loopback clients as the default tenant.
    kubernetes: {
      namespaces: Object.fromEntries(
        [...tenants.map((tenant) => tenant.name), 'default'].map((name) => [name, namespace]),
      ),
    },
  });
  const backend = await createKubernetesBackend(config, testLogger(), loadKubeConfig());
  const gateway = await startGateway(config, backend).catch(async (error: unknown) => {
    await backend.close(0);
    throw error;
  });
  return {
    ...gateway,
    backend,
    config,
    close: async () => {
      await gateway.close();
      await backend.close(0);
    },
  };
}
