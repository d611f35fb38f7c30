import type { LimitPolicy } from '../../contract/index.js';
import type { Config, TenantConfig } from '../config.js';

/** A tenant with every policy value resolved: its own, or the configured defaults. */
export interface Tenant {
  name: string;
  limits: LimitPolicy;
  /** Executions not yet finished at once (429 past it). */
  maxConcurrent: number;
  ratePerSecond: number;
  burst: number;
  /** Sockets open at once. */
  maxSockets: number;
  /** Results and output streams sent at once (sockets' follows, REST results). */
  maxStreams: number;
  /** Kubernetes mode: the namespace the tenant named for itself, if any. */
  namespace?: string;
  /** Hosts its callbackUrls may point at. */
  callbackHosts: string[];
  callbackSecret?: string;
}

/** The tenant that loopback clients act as when no tenants are configured. */
export const DEFAULT_TENANT_NAME = 'default';

export type TenantPolicyDefaults = Pick<Config, 'limits' | 'tenantDefaults'>;

export function resolveTenant(tenant: TenantConfig, defaults: TenantPolicyDefaults): Tenant {
  return {
    name: tenant.name,
    limits: tenant.limits ?? defaults.limits,
    maxConcurrent: tenant.maxConcurrent ?? defaults.tenantDefaults.maxConcurrent,
    ratePerSecond: tenant.ratePerSecond ?? defaults.tenantDefaults.ratePerSecond,
    burst: tenant.burst ?? defaults.tenantDefaults.burst,
    maxSockets: tenant.maxSockets ?? defaults.tenantDefaults.maxSockets,
    maxStreams: tenant.maxStreams ?? defaults.tenantDefaults.maxStreams,
    ...(tenant.namespace === undefined ? {} : { namespace: tenant.namespace }),
    callbackHosts: tenant.callbackHosts ?? [],
    ...(tenant.callbackSecret === undefined ? {} : { callbackSecret: tenant.callbackSecret }),
  };
}

export function tenantsFrom(config: Config): Tenant[] {
  return config.tenants.map((tenant) => resolveTenant(tenant, config));
}

export function defaultTenant(config: TenantPolicyDefaults): Tenant {
  return {
    name: DEFAULT_TENANT_NAME,
    limits: config.limits,
    maxConcurrent: config.tenantDefaults.maxConcurrent,
    ratePerSecond: config.tenantDefaults.ratePerSecond,
    burst: config.tenantDefaults.burst,
    maxSockets: config.tenantDefaults.maxSockets,
    maxStreams: config.tenantDefaults.maxStreams,
    callbackHosts: [],
  };
}
