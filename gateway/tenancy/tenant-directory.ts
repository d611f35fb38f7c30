import type { Config, TenantConfig } from '../config.js';
import { resolveTenant, type Tenant, type TenantPolicyDefaults } from './tenant.js';

// The tenants a gateway serves right now. They come from the configuration file (fixed for the
// process's life) or, in Kubernetes mode, from a watched Secret that replaces them whole on each
// good version; authentication, admission and the backend read them here at every request, so a
// change applies at once.

export interface TenantEntry {
  tenant: Tenant;
  tokenHashes: readonly Buffer[];
}

export class TenantDirectory {
  private entriesNow: readonly TenantEntry[] = [];
  private byName = new Map<string, Tenant>();
  private readonly listeners = new Set<() => void>();
  private problemNow: string | undefined;
  private loadedOnce = false;

  /**
   * `tokensRequired` is false only for a configuration without tenants: loopback clients are then
   * served as `default`. A directory fed by a Secret always requires tokens, even while empty.
   */
  constructor(
    private readonly defaults: TenantPolicyDefaults,
    readonly tokensRequired: boolean,
    /** Why the source cannot be read now (a lost watch, say), besides a refused version. */
    private readonly sourceProblem: () => string | undefined = () => undefined,
  ) {}

  /** Serves these tenants from now on, in place of the previous ones. */
  replace(tenants: readonly TenantConfig[]): void {
    this.entriesNow = tenants.map((tenant) => ({
      tenant: resolveTenant(tenant, this.defaults),
      tokenHashes: tenant.tokenSha256.map((hex) => Buffer.from(hex, 'hex')),
    }));
    this.byName = new Map(this.entriesNow.map(({ tenant }) => [tenant.name, tenant]));
    this.loadedOnce = true;
    this.problemNow = undefined;
    for (const listener of [...this.listeners]) listener();
  }

  /** Says why the tenants may be stale; the last good ones stay in service meanwhile. */
  reportProblem(problem: string): void {
    this.problemNow = problem;
  }

  /** Why the tenants may be stale or missing, or undefined when the last read was good. */
  get problem(): string | undefined {
    return this.problemNow ?? this.sourceProblem();
  }

  /** Whether a good set of tenants was ever read; before that nobody is served. */
  get loaded(): boolean {
    return this.loadedOnce;
  }

  entries(): readonly TenantEntry[] {
    return this.entriesNow;
  }

  /** The tenant as it is now, with its current policy; undefined once it is gone. */
  find(name: string): Tenant | undefined {
    return this.byName.get(name);
  }

  /** Calls `listener` after each replacement; returns what stops it. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The tenants of the configuration file. */
export function configuredTenants(config: Config): TenantDirectory {
  const directory = new TenantDirectory(config, config.tenants.length > 0);
  directory.replace(config.tenants);
  return directory;
}
