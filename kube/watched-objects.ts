import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  Watch,
} from '@kubernetes/client-node';
import type winston from 'winston';
import { errorMessage } from '../observability/logger.js';

// One list+watch of a kind, kept alive; the gateway and the operator both watch through it.
// client-node's ListWatch relists on 410 Gone and reconnects after a clean close by itself, but
// after any other error (the API server unreachable, a refused watch) it calls the error callbacks
// and stops; this starts it again with a backoff of baseMs doubling to maxMs, and says meanwhile
// what is wrong. A restart watches on from the last resourceVersion seen, or relists if that is
// gone, so changes made while the connection was down still arrive as add/update/delete.

export type Listener<T> = (object: T | undefined) => void;

/** The paging parameters of a list call, as client-node's list methods name them. */
export interface ListPage {
  limit: number;
  _continue?: string;
}

export type ChangeKind = 'add' | 'update' | 'delete';
/** Called with every object of the kind that was added, changed or deleted. */
export type ChangeListener<T> = (object: T, change: ChangeKind) => void;

/** What readers of a watched kind use; tests stand in for it without an API server. */
export interface ObjectWatch<T> {
  /** Why the cache may be stale, or undefined while the watch is up. */
  readonly problem: string | undefined;
  get(namespace: string, name: string): T | undefined;
  /** Every object in the cache, or those of one namespace. */
  list(namespace?: string): readonly T[];
  /** Calls `listener` with each new version of the object, and with undefined once it is deleted. */
  subscribe(namespace: string, name: string, listener: Listener<T>): () => void;
  stop(): Promise<void>;
}

export interface WatchedObjectsOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** Collection path of the watch, such as `/apis/sandpod.dev/v1alpha1/executions`. */
  path: string;
  /** Lists the kind; with `pageSize`, one page of it (`limit`, and `_continue` after the first). */
  list: (page?: ListPage) => Promise<KubernetesListObject<T>>;
  /**
   * Objects per list request. A list of all at once arrives as one body and is parsed whole
   * before anything is slimmed: thousands of Executions made the operator's heap grow by several
   * times the cache it ends with. Pages of one snapshot (the continue token pins its
   * resourceVersion) keep that to one page, as client-go's informers do (500 per page).
   */
  pageSize?: number;
  /** Label selector of the watch; `list` must apply the same one. */
  labelSelector?: string;
  /** Kind, for logs and readiness messages. */
  kind: string;
  log: winston.Logger;
  backoff: { baseMs: number; maxMs: number };
  /**
   * What of each object the cache keeps. Executions carry source, stdin and output of up to a
   * few MiB; the cache needs their phase only, and readers fetch the whole object when they
   * need it.
   */
  slim?: (object: T) => T;
  /** Watch only the objects this selects, such as `metadata.name=x` (the list must select the same). */
  fieldSelector?: string;
}

/** A Watch that hands on each object slimmed, so the list+watch cache never holds the rest. */
class SlimmingWatch<T> extends Watch {
  constructor(
    kubeConfig: KubeConfig,
    private readonly slim: (object: T) => T,
  ) {
    super(kubeConfig);
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    return super.watch(
      path,
      queryParams,
      (phase, object, watchObject) => {
        // ERROR events carry a Status, not an object of the kind.
        callback(phase, phase === 'ERROR' ? object : this.slim(object as T), watchObject);
      },
      done,
    );
  }
}

/** Typed clients name the field `_continue`; CustomObjectsApi hands on the JSON's `continue`. */
function continueToken(list: KubernetesListObject<KubernetesObject>): string | undefined {
  const metadata = list.metadata as { _continue?: string; continue?: string } | undefined;
  return metadata?._continue || metadata?.continue || undefined;
}

const keyOf = (namespace: string | undefined, name: string | undefined) => `${namespace ?? ''}/${name ?? ''}`;

export class WatchedObjects<T extends KubernetesObject> implements ObjectWatch<T> {
  private readonly informer: ListWatch<T>;
  private readonly listeners = new Map<string, Set<Listener<T>>>();
  private readonly changeListeners = new Set<ChangeListener<T>>();
  private trouble: string | undefined = 'not listed yet';
  private failedSinceStart = false;
  private delayMs = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private markSynced: () => void = () => undefined;
  /** Resolves once the first list has been taken and the watch is open. */
  readonly synced: Promise<void> = new Promise((resolve) => {
    this.markSynced = resolve;
  });

  constructor(private readonly options: WatchedObjectsOptions<T>) {
    const slim = options.slim ?? ((object: T) => object);
    const list = async () => {
      const items: T[] = [];
      let listed: KubernetesListObject<T>;
      let token: string | undefined;
      do {
        const page = options.pageSize ? { limit: options.pageSize, ...(token ? { _continue: token } : {}) } : undefined;
        listed = await options.list(page);
        for (const item of listed.items) items.push(slim(item));
        token = continueToken(listed);
      } while (token && options.pageSize);
      return { ...listed, items };
    };
    this.informer = new ListWatch<T>(
      options.path,
      new SlimmingWatch(options.kubeConfig, slim),
      list,
      false,
      options.labelSelector,
      options.fieldSelector,
    );
    const notify = (object: T, change: ChangeKind) => {
      this.trouble = undefined;
      const listeners = this.listeners.get(keyOf(object.metadata?.namespace, object.metadata?.name));
      for (const listener of [...(listeners ?? [])]) listener(change === 'delete' ? undefined : object);
      for (const listener of [...this.changeListeners]) listener(object, change);
    };
    for (const change of ['add', 'update', 'delete'] as const)
      this.informer.on(change, (object) => notify(object, change));
    this.informer.on('error', (error: unknown) => this.lost(error));
  }

  /** Lists and starts watching; resolves once the first attempt is over, whether it worked or not. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.attempt();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.informer.stop();
  }

  /** Why the cache may be stale, or undefined while the watch is up. */
  get problem(): string | undefined {
    return this.trouble;
  }

  get(namespace: string, name: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace);
  }

  /** Calls `listener` with every change of any object of the kind, until the returned function is called. */
  onChange(listener: ChangeListener<T>): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Calls `listener` with each new version of the object, and with undefined once it is deleted. */
  subscribe(namespace: string, name: string, listener: Listener<T>): () => void {
    const key = keyOf(namespace, name);
    let listeners = this.listeners.get(key);
    if (!listeners) {
      listeners = new Set();
      this.listeners.set(key, listeners);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.listeners.get(key) === listeners) this.listeners.delete(key);
    };
  }

  private async attempt(): Promise<void> {
    this.failedSinceStart = false;
    try {
      await this.informer.start();
    } catch (error) {
      this.lost(error);
    }
    if (!this.failedSinceStart && !this.stopped) {
      if (this.trouble !== undefined && this.delayMs > 0)
        this.options.log.info('Watched again', { kind: this.options.kind });
      this.trouble = undefined;
      this.delayMs = 0;
      this.markSynced();
    }
  }

  private lost(error: unknown): void {
    this.failedSinceStart = true;
    if (this.stopped) return;
    this.trouble = `the watch of ${this.options.kind} objects failed: ${errorMessage(error)}`;
    this.delayMs = Math.min(
      this.delayMs > 0 ? this.delayMs * 2 : this.options.backoff.baseMs,
      this.options.backoff.maxMs,
    );
    this.options.log.warn('Lost watch; watching again', {
      kind: this.options.kind,
      error: errorMessage(error),
      retryInMs: this.delayMs,
    });
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.attempt(), this.delayMs);
    this.restartTimer.unref();
  }
}
