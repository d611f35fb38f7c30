import { randomBytes } from 'node:crypto';
import { LABELS } from '../../contract/objects.js';
import type { Config } from '../config.js';
import type { Tenant } from '../tenancy/tenant.js';

// Where a tenant's Executions live and what they are called. An execution's id is its name; the
// namespace follows from the tenant, so any replica can serve any id without shared state.

export type NamespaceSettings = Pick<Config['kubernetes'], 'namespacePrefix' | 'namespaces'>;

/** The configured namespaces, with those the tenants name for themselves (a tenant's own word wins). */
export function namespaceSettingsOf(
  settings: NamespaceSettings,
  tenants: { entries(): readonly { tenant: Tenant }[] },
): NamespaceSettings {
  const own = tenants
    .entries()
    .flatMap(({ tenant }) => (tenant.namespace === undefined ? [] : [[tenant.name, tenant.namespace] as const]));
  return {
    namespacePrefix: settings.namespacePrefix,
    namespaces: { ...settings.namespaces, ...Object.fromEntries(own) },
  };
}

/** The namespaces of the configured tenants, or of the loopback tenant when there are none. */
export function tenantNamespaces(
  tenants: readonly string[],
  loopbackTenant: string,
  settings: NamespaceSettings,
): string[] {
  const names = tenants.length > 0 ? tenants : [loopbackTenant];
  return [...new Set(names.map((tenant) => tenantNamespace(tenant, settings)))].sort();
}

/** The tenant's own namespace, or `<prefix><tenant>`. */
export function tenantNamespace(tenant: string, settings: NamespaceSettings): string {
  return settings.namespaces[tenant] ?? `${settings.namespacePrefix}${tenant}`;
}

/** Where an Execution is: its namespace and name. */
export interface ExecutionRef {
  namespace: string;
  name: string;
}

const EXECUTION_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The Execution an id names for this tenant, or undefined when the id cannot be a name: checked
 * before it becomes part of an API path, so `../pods` and the like never reach the API server.
 */
export function executionRef(tenant: string, id: string, settings: NamespaceSettings): ExecutionRef | undefined {
  if (!EXECUTION_NAME.test(id)) return undefined;
  return { namespace: tenantNamespace(tenant, settings), name: id };
}

const NAME_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `ex-` and 16 random characters: about 82 bits, a DNS label, and no hint of the tenant. */
export function newExecutionName(random: (size: number) => Buffer = randomBytes): string {
  const bytes = random(16);
  let suffix = '';
  for (const byte of bytes) suffix += NAME_ALPHABET[byte % NAME_ALPHABET.length];
  return `ex-${suffix}`;
}

/**
 * Whether the tenant may see the Execution: it is in the tenant's namespace, and when it carries
 * a tenant label (the gateway always sets one), the label names this tenant. Executions made with
 * kubectl in the namespace have no label and belong to whoever owns the namespace.
 */
export function belongsTo(
  metadata: { namespace?: string; labels?: Record<string, string> } | undefined,
  tenant: string,
  settings: NamespaceSettings,
): boolean {
  if (metadata?.namespace !== tenantNamespace(tenant, settings)) return false;
  const label = metadata.labels?.[LABELS.tenant];
  return label === undefined || label === tenant;
}
