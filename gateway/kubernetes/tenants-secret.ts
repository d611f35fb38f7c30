import type { CoreV1Api, KubeConfig, KubernetesListObject, V1Secret } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import type winston from 'winston';
import { firstFieldError } from '../../contract/index.js';
import { WatchedObjects } from '../../kube/watched-objects.js';
import { errorMessage } from '../../observability/logger.js';
import { refuseReservedNamespaces, type TenantConfig, type TenantsSecretRef, tenantListSchema } from '../config.js';
import type { TenantPolicyDefaults } from '../tenancy/tenant.js';
import { TenantDirectory } from '../tenancy/tenant-directory.js';

// Tenants from one Secret, watched: each good version replaces the tenants whole; a version that
// is malformed, or the Secret gone, leaves the last good tenants in service and says why (log,
// metric), so a bad edit never locks every client out. Only this one Secret is read: the watch
// selects it by name, which lets RBAC restrict list and watch to it with resourceNames.

export type TenantsSecretContent = { ok: true; tenants: TenantConfig[] } | { ok: false; problem: string };

export const secretLabel = (ref: TenantsSecretRef) => `Secret ${ref.namespace}/${ref.name}`;

/** Where the gateway puts tenants' Executions, to refuse a tenant whose namespace is reserved. */
export type TenantNamespaceSettings = Parameters<typeof refuseReservedNamespaces>[1];

/** The tenants of a version of the Secret, or what is wrong with it. */
export function readTenantsSecret(
  secret: V1Secret | undefined,
  ref: TenantsSecretRef,
  namespaces: TenantNamespaceSettings = { namespacePrefix: 'sandpod-', namespaces: {} },
): TenantsSecretContent {
  const where = secretLabel(ref);
  if (!secret) return { ok: false, problem: `${where} does not exist` };
  const encoded = secret.data?.[ref.key];
  if (encoded === undefined) return { ok: false, problem: `${where} has no key ${ref.key}` };
  let document: unknown;
  try {
    document = yaml.load(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch (error) {
    return { ok: false, problem: `${where}, key ${ref.key}, is not YAML: ${errorMessage(error)}` };
  }
  // An empty key is more likely a mistake than "no tenants"; that is written `[]`.
  if (document === undefined || document === null) {
    return { ok: false, problem: `${where}, key ${ref.key}, is empty (write [] for no tenants)` };
  }
  const releaseNamespace = namespaces.releaseNamespace ?? ref.namespace;
  const parsed = tenantListSchema
    .superRefine((tenants, context) =>
      refuseReservedNamespaces(tenants, { ...namespaces, releaseNamespace }, context, (index, field) => [index, field]),
    )
    .safeParse(document);
  if (!parsed.success) {
    const { message } = firstFieldError(parsed.error);
    return { ok: false, problem: `${where}, key ${ref.key}, is invalid: ${message}` };
  }
  return { ok: true, tenants: parsed.data };
}

export interface TenantsSecretOptions {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  ref: TenantsSecretRef;
  defaults: TenantPolicyDefaults;
  /** The namespace settings of the configuration, which the Secret's tenants may not make reserved. */
  namespaces?: TenantNamespaceSettings;
  log: winston.Logger;
  backoff: { baseMs: number; maxMs: number };
}

export class TenantsSecret {
  readonly tenants: TenantDirectory;
  private readonly watch: WatchedObjects<V1Secret>;
  /** The resourceVersion read last, good or not, so a relist of the same version is not news. */
  private seenVersion: string | undefined;

  constructor(private readonly options: TenantsSecretOptions) {
    const { ref, core } = options;
    const fieldSelector = `metadata.name=${ref.name}`;
    this.watch = new WatchedObjects<V1Secret>({
      kubeConfig: options.kubeConfig,
      path: `/api/v1/namespaces/${ref.namespace}/secrets`,
      fieldSelector,
      list: () =>
        core.listNamespacedSecret({ namespace: ref.namespace, fieldSelector }) as Promise<
          KubernetesListObject<V1Secret>
        >,
      kind: secretLabel(ref),
      log: options.log,
      backoff: options.backoff,
    });
    this.tenants = new TenantDirectory(options.defaults, true, () => this.watch.problem);
    this.watch.subscribe(ref.namespace, ref.name, (secret) => this.apply(secret));
  }

  /** Lists and watches; resolves once the first attempt is over, whether it found good tenants or not. */
  async start(): Promise<void> {
    await this.watch.start();
    // Listed without it: it does not exist. A failed list says nothing about it (the watch's problem says why).
    if (this.seenVersion === undefined && !this.watch.problem) {
      this.apply(this.watch.get(this.options.ref.namespace, this.options.ref.name));
    }
  }

  stop(): Promise<void> {
    return this.watch.stop();
  }

  /** Why no tenants can be served yet, or undefined once a good version was read. */
  get unreadyReason(): string | undefined {
    if (this.tenants.loaded) return undefined;
    return this.tenants.problem ?? `${secretLabel(this.options.ref)} was not read yet`;
  }

  private apply(secret: V1Secret | undefined): void {
    const version = secret ? (secret.metadata?.resourceVersion ?? '') : 'deleted';
    if (version === this.seenVersion) return;
    this.seenVersion = version;
    const { ref, log } = this.options;
    const content = readTenantsSecret(secret, ref, this.options.namespaces);
    if (content.ok) {
      this.tenants.replace(content.tenants);
      log.info('Read tenants', {
        secret: `${ref.namespace}/${ref.name}`,
        resourceVersion: version,
        tenants: content.tenants.length,
      });
      return;
    }
    this.tenants.reportProblem(content.problem);
    log.error(this.tenants.loaded ? 'Refused tenants; serving the last good ones' : 'Refused tenants; serving none', {
      secret: `${ref.namespace}/${ref.name}`,
      resourceVersion: version,
      problem: content.problem,
    });
  }
}
