import type { LimitPolicy } from '../../contract/index.js';
import type { Config } from '../config.js';

/** A tenant with every policy value resolved: its own, or the configured defaults. */
export interface Tenant {
  name: string;
  limits: LimitPolicy;
  /** Executions not yet finished at once (429 past it). */
  maxConcurrent: number;
  ratePerSecond: number;
  burst: number;
}

/** The tenant that loopback clients act as when no tenants are configured. */
export const DEFAULT_TENANT_NAME = 'default';

export function tenantsFrom(config: Config): Tenant[] {
  return config.tenants.map((tenant) => ({
    name: tenant.name,
    limits: tenant.limits ?? config.limits,
    maxConcurrent: tenant.maxConcurrent ?? config.tenantDefaults.maxConcurrent,
    ratePerSecond: tenant.ratePerSecond ?? config.tenantDefaults.ratePerSecond,
    burst: tenant.burst ?? config.tenantDefaults.burst,
  }));
}

export function defaultTenant(config: Config): Tenant {
  return {
    name: DEFAULT_TENANT_NAME,
    limits: config.limits,
    maxConcurrent: config.tenantDefaults.maxConcurrent,
    ratePerSecond: config.tenantDefaults.ratePerSecond,
    burst: config.tenantDefaults.burst,
  };
}
