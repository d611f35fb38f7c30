import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';

// The Kubernetes API as kubectl reaches it: KUBECONFIG (or ~/.kube/config), its current context,
// and that context's namespace unless -n names another.

export interface Cluster {
  kubeConfig: KubeConfig;
  namespace: string;
  custom: CustomObjectsApi;
  core: CoreV1Api;
}

export function currentCluster(namespaceFlag: string | undefined): Cluster {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const context = kubeConfig.getContextObject(kubeConfig.getCurrentContext());
  return {
    kubeConfig,
    namespace: namespaceFlag ?? context?.namespace ?? 'default',
    custom: kubeConfig.makeApiClient(CustomObjectsApi),
    core: kubeConfig.makeApiClient(CoreV1Api),
  };
}
