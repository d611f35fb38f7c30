import type { Listener, ObjectWatch } from '../../kube/watched-objects.js';

// Several namespaced watches seen as one: the gateway watches only its tenants' namespaces, so a
// Role in each of them is all the RBAC it needs.

export class NamespacedWatches<T> implements ObjectWatch<T> {
  constructor(private readonly byNamespace: ReadonlyMap<string, ObjectWatch<T>>) {}

  get problem(): string | undefined {
    for (const watch of this.byNamespace.values()) if (watch.problem) return watch.problem;
    return undefined;
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
    await Promise.all([...this.byNamespace.values()].map((watch) => watch.stop()));
  }
}
