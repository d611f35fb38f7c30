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

/** The status code of a failed API call, when it has one. */
export function statusCodeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** What the API server said, rather than the client's wrapping of it. */
export function apiMessage(error: unknown): string {
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      // Not a Status object: the text itself is the message.
    }
    if (body !== '') return body;
  }
  return error instanceof Error ? error.message : String(error);
}
