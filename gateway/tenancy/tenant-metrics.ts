import { Gauge, type Registry } from 'prom-client';
import type { TenantDirectory } from './tenant-directory.js';

/**
 * How many tenants are served, and whether their source has a problem. A malformed tenants
 * Secret leaves the gateway serving the last good tenants and ready, so this gauge (with the
 * log) is where the problem shows.
 */
export function watchTenantMetrics(registry: Registry, tenants: TenantDirectory): void {
  new Gauge({
    name: 'sandpod_tenants',
    help: 'Tenants served now',
    registers: [registry],
    collect() {
      this.set(tenants.entries().length);
    },
  });
  new Gauge({
    name: 'sandpod_tenants_source_problem',
    help: 'Whether the latest version of the tenants source was refused or could not be read (the last good tenants are served)',
    registers: [registry],
    collect() {
      this.set(tenants.problem === undefined ? 0 : 1);
    },
  });
}
