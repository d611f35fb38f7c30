import type { Listener, ObjectWatch } from '../../kube/watched-objects.js';

// Several namespaced watches seen as one: the gateway watches only its tenants' namespaces, so a
// Role in each of them is all the RBAC it needs. Tenants read from a Secret come and go, and the
// namespaces watched follow them (`watchOnly`).

export interface StartableWatch<T> extends ObjectWatch<T> {
  /** Resolves once the first list is over, whether it worked or not. */
  start(): Promise<void>;
}

export class NamespacedWatches<T> implements ObjectWatch<T> {
  private readonly byNamespace: Map<string, ObjectWatch<T>>;
  /** Namespaces watched because a tenant from the Secret has them, not the configuration file. */
  private readonly followed = new Set<string>();
  private changing: Promise<void> = Promise.resolve();

  constructor(
    initial: ReadonlyMap<string, ObjectWatch<T>>,
    /** Makes the watch of one more namespace, not started yet. */
    private readonly createWatch?: (namespace: string) => StartableWatch<T>,
  ) {
    this.byNamespace = new Map(initial);
  }

  /**
   * The first problem of a namespace of the configuration file. Namespaces of tenants from the
   * Secret are left out: one tenant whose namespace the gateway may not watch must not take the
   * gateway out of service for every other tenant (its watch logs why, and its requests fail).
   */
  get problem(): string | undefined {
    for (const [namespace, watch] of this.byNamespace) {
      if (!this.followed.has(namespace) && watch.problem) return watch.problem;
    }
    return undefined;
  }

  /** Why the watch of this namespace may be stale, whoever asked for it. */
  problemIn(namespace: string): string | undefined {
    const watch = this.byNamespace.get(namespace);
    return watch ? watch.problem : `namespace ${namespace} is not watched`;
  }

  namespaces(): string[] {
    return [...this.byNamespace.keys()].sort();
  }

  /**
   * Watches exactly these namespaces from now on, besides those of the configuration file: new
   * ones start, ones no tenant has any more stop. Calls run one after another.
   */
  watchOnly(namespaces: Iterable<string>): Promise<void> {
    const wanted = new Set(namespaces);
    this.changing = this.changing.then(() => this.follow(wanted));
    return this.changing;
  }

  get(namespace: string, name: string): T | undefined {
    return this.byNamespace.get(namespace)?.get(namespace, name);
  }

  list(namespace?: string): readonly T[] {
    if (namespace !== undefined) return this.byNamespace.get(namespace)?.list(namespace) ?? [];
    return [...this.byNamespace.values()].flatMap((watch) => watch.list());
  }

  /** An object in a namespace nobody watches never changes as far as this knows. */
  subscribe(namespace: string, name: string, listener: Listener<T>): () => void {
    return this.byNamespace.get(namespace)?.subscribe(namespace, name, listener) ?? (() => undefined);
  }

  async stop(): Promise<void> {
    await this.changing;
    await Promise.all([...this.byNamespace.values()].map((watch) => watch.stop()));
  }

  private async follow(wanted: ReadonlySet<string>): Promise<void> {
    const createWatch = this.createWatch;
    if (!createWatch) throw new Error('these namespaced watches are fixed');
    const gone = [...this.followed].filter((namespace) => !wanted.has(namespace));
    for (const namespace of gone) {
      this.followed.delete(namespace);
      const watch = this.byNamespace.get(namespace);
      this.byNamespace.delete(namespace);
      await watch?.stop();
    }
    const added = [...wanted].filter((namespace) => !this.byNamespace.has(namespace));
    // In the map before the first list is over: subscribers from then on hear every change.
    const started = added.map((namespace) => {
      const watch = createWatch(namespace);
      this.followed.add(namespace);
      this.byNamespace.set(namespace, watch);
      return watch.start();
    });
    await Promise.all(started);
  }
}
