import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ApiException, type CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type winston from 'winston';
import { API_GROUP, API_VERSION } from '../../contract/crd.js';
import type { ExecutionResult, RuntimeInfo, RuntimeLimits } from '../../contract/index.js';
import { EXECUTION_PLURAL, type ExecutionObject, findRuntime, type Runtime } from '../../contract/objects.js';
import type { ObjectWatch } from '../../kube/watched-objects.js';
import { errorMessage } from '../../observability/logger.js';
import type { ExecutionBackend, ExecutionEvent, ExecutionSpec } from '../backend.js';
import type { DeliveryStore } from '../callbacks/store.js';
import type { Config } from '../config.js';
import { ApiError, atCapacity, invalid, notFound, tooMany } from '../errors.js';
import type { TenantDirectory } from '../tenancy/tenant-directory.js';
import { apiServerProblem } from './api-request.js';
import { ExecutionChanges } from './execution-changes.js';
import { executionDeliveryStore } from './execution-deliveries.js';
import { CANCEL_PATCH, desiredExecution } from './execution-object.js';
import { FinishedResults } from './finished-results.js';
import { type FollowContext, followExecution } from './follow.js';
import { LiveAttaches } from './live-attaches.js';
import {
  belongsTo,
  type ExecutionRef,
  executionRef,
  type NamespaceSettings,
  namespaceSettingsOf,
  newExecutionName,
  tenantNamespace,
} from './names.js';
import { hasPendingStdin, pendingStdinOf, pendingStdinStore } from './pending-stdin.js';
import { deletedResult, isFinished, phaseOf, toResult } from './result.js';
import { runtimeInfos } from './runtime-info.js';
import { executionBytes, type StoredUsage, storedUsage } from './stored-executions.js';
import type { TenantsSecret } from './tenants-secret.js';

// Executions as Execution objects: the API server holds every fact, the watch tells what changed,
// and this replica keeps nothing another replica would need (its attaches aside, see
// live-attaches.ts). An id is the Execution's name in the tenant's namespace.

export interface KubernetesBackendDeps {
  kubeConfig: FollowContext['kubeConfig'];
  custom: CustomObjectsApi;
  executions: ObjectWatch<ExecutionObject>;
  runtimes: ObjectWatch<Runtime>;
  settings: Config['kubernetes'];
  /** The tenants served: those of the configuration file, or of the watched Secret. */
  tenants: TenantDirectory;
  /** Set when the tenants come from a Secret: readiness waits for its first good version. */
  tenantsSecret?: TenantsSecret;
  log: winston.Logger;
  now?: () => Date;
}

/**
 * How long an Execution this replica created is counted before the watch shows it. The watch
 * delivers it within milliseconds while it is up; this only bounds a leak when it never does.
 */
const UNSEEN_CREATION_TTL_MS = 60_000;

/** When a client last attached to the Execution, on whichever replica (RFC 3339). */
export const ATTACHED_AT_ANNOTATION = `${API_GROUP}/attached-at`;

/** Retry-After of a storage refusal when none of the tenant's Executions has finished yet. */
const STORAGE_RETRY_SECONDS = 10;

const monotonicMs = () => performance.now();

const unavailable = (error: unknown) =>
  new ApiError(503, 'backend_unavailable', `the Kubernetes API server failed: ${statusMessage(error)}`, undefined, 5);

/** The message of an API rejection's Status body, else of the error. */
export function statusMessage(error: unknown): string {
  if (error instanceof ApiException) {
    const body = typeof error.body === 'string' ? safeJson(error.body) : error.body;
    const message = (body as { message?: unknown } | undefined)?.message;
    if (typeof message === 'string') return message;
    return `HTTP ${error.code}`;
  }
  return errorMessage(error);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}

/** How long a replica holds a callback it sends before another may take it over. */
const CALLBACK_HOLD_MS = 120_000;

const codeOf = (error: unknown) => (error instanceof ApiException ? error.code : undefined);

/** What a client is told when the API server refuses a new Execution. */
export function createRefusal(error: unknown, namespace: string): ApiError {
  const code = codeOf(error);
  const message = statusMessage(error);
  if (code === 400 || code === 422) return invalid('', `the cluster refused the execution: ${message}`);
  if (code === 403 && /exceeded quota/i.test(message)) return atCapacity(10);
  // A ResourceQuota the quota controller has not counted yet (a namespace just made): a moment,
  // or minutes when the quota names a resource the controller had not discovered when it synced
  // it. The cluster's words say which quota, for whoever reads the 503.
  if (code === 403 && /status unknown for quota/i.test(message)) {
    return new ApiError(
      503,
      'at_capacity',
      `the namespace's ResourceQuota is not counted yet: ${message}`,
      undefined,
      1,
    );
  }
  if (code === 403 || code === 404) {
    return new ApiError(
      500,
      'backend_misconfigured',
      `cannot create Executions in namespace ${namespace}: ${message}; check the tenant's namespace and the gateway's RBAC`,
    );
  }
  return unavailable(error);
}

export class KubernetesBackend implements ExecutionBackend {
  readonly deliveryStore: DeliveryStore;
  private closing = false;
  private readonly closed = new AbortController();
  private readonly attaches: LiveAttaches;
  private readonly followContext: FollowContext;
  private readonly now: () => Date;
  private lastProblem: string | undefined;
  private namespaceSettings: NamespaceSettings;
  /** Executions created here that the watch has not shown yet, by `namespace/name`. */
  private readonly unseenCreations = new Map<string, { tenant: string; createdAtMs: number; bytes: number }>();
  private readonly finishedResults: FinishedResults;

  constructor(private readonly deps: KubernetesBackendDeps) {
    this.now = deps.now ?? (() => new Date());
    this.finishedResults = new FinishedResults(deps.settings.finishedResultCacheBytes);
    this.namespaceSettings = namespaceSettingsOf(deps.settings, deps.tenants);
    deps.tenants.onChange(() => {
      this.namespaceSettings = namespaceSettingsOf(deps.settings, deps.tenants);
    });
    this.attaches = new LiveAttaches({
      kubeConfig: deps.kubeConfig,
      pending: pendingStdinStore({
        readWhole: (ref) => this.readWhole(ref),
        patch: (ref, body) => this.patchExecution(ref, body),
      }),
      executions: deps.executions,
      read: (ref) => this.read(ref),
      retryDelayMs: deps.settings.podRetryDelayMs,
      maxRetryDelayMs: deps.settings.rewatchMaxDelayMs,
      windowBytes: deps.settings.liveWindowBytes,
      log: deps.log,
      nowMs: monotonicMs,
    });
    this.deliveryStore = executionDeliveryStore({
      api: {
        list: () => deps.executions.list(),
        readWhole: (ref) => this.readWhole(ref),
        patch: (ref, body) => this.patchExecution(ref, body),
        refOf: (tenant, id) => executionRef(tenant, id, this.namespaceSettings),
      },
      // One per backend, not per process: two backends in one process are two replicas.
      holder: `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`,
      holdMs: CALLBACK_HOLD_MS,
    });
    this.followContext = {
      kubeConfig: deps.kubeConfig,
      executions: deps.executions,
      settings: deps.settings,
      splitStreams: { refused: false },
      read: (ref) => this.read(ref),
      readWhole: (ref) => this.readWhole(ref),
      liveOutput: (ref) => this.attaches.output(ref),
      log: deps.log,
      now: this.now,
    };
  }

  /**
   * The tenants of the watched Secret. Tenants of a configuration file are left to the gateway
   * that holds it: tests serve several configurations from one backend.
   */
  get tenants(): TenantDirectory | undefined {
    return this.deps.tenantsSecret?.tenants;
  }

  async runtimes(): Promise<RuntimeInfo[]> {
    return runtimeInfos(this.deps.runtimes.list());
  }

  runtimeLimits(name: string): RuntimeLimits | undefined {
    return findRuntime(this.deps.runtimes.list(), name)?.spec.limits;
  }

  async start(tenant: string, spec: ExecutionSpec): Promise<{ id: string }> {
    if (this.closing) throw new ApiError(503, 'shutting_down', 'the gateway is shutting down', undefined, 5);
    const runtime = findRuntime(this.deps.runtimes.list(), spec.runtime);
    if (!runtime) {
      const names = (await this.runtimes()).map((known) => known.name).join(', ');
      throw invalid('runtime', `unknown runtime ${JSON.stringify(spec.runtime)}; available: ${names}`);
    }
    const namespace = tenantNamespace(tenant, this.namespaceSettings);
    // Taken before the Execution exists, so that it comes before its container's start.
    const originMs = monotonicMs();
    // A random name taken already is retried with another; twice in a row means something else.
    for (let attempt = 0; ; attempt += 1) {
      const name = newExecutionName();
      const body = desiredExecution(
        { ...spec, runtime: runtime.metadata.name },
        { tenant, namespace, name },
        this.deps.settings,
      );
      const bytes = executionBytes(body);
      body.spec.ttlSecondsAfterFinished = this.ttlFor(bytes);
      this.admitStorage(tenant, bytes);
      try {
        await this.deps.custom.createNamespacedCustomObject({
          group: API_GROUP,
          version: API_VERSION,
          namespace,
          plural: EXECUTION_PLURAL,
          body,
        });
        this.deps.log.info('Created Execution', {
          execution: `${namespace}/${name}`,
          tenant,
          runtime: runtime.metadata.name,
        });
        this.unseenCreations.set(`${namespace}/${name}`, { tenant, createdAtMs: this.now().getTime(), bytes });
        if (spec.interactive === true) this.attaches.gate({ namespace, name }, originMs);
        return { id: name };
      } catch (error) {
        if (codeOf(error) === 409 && attempt < 2) continue;
        this.deps.log.warn('Failed to create Execution', { namespace, tenant, error: statusMessage(error) });
        throw createRefusal(error, namespace);
      }
    }
  }

  /**
   * From the watch where it has the Execution: an unfinished one in full (its status has no
   * output yet), a finished one from the results kept here or by one read. Only an Execution the
   * watch has not shown yet costs a read every time.
   */
  async get(tenant: string, id: string): Promise<ExecutionResult | undefined> {
    const ref = executionRef(tenant, id, this.namespaceSettings);
    if (!ref) return undefined;
    const cached = this.deps.executions.get(ref.namespace, ref.name);
    if (cached) {
      if (!this.belongs(cached, tenant)) return undefined;
      return isFinished(cached) ? this.finishedResult(ref, cached) : toResult(cached);
    }
    const execution = await this.readWhole(ref);
    return execution && this.belongs(execution, tenant) ? toResult(execution) : undefined;
  }

  async cancel(tenant: string, id: string): Promise<boolean> {
    const found = await this.find(tenant, id);
    if (!found) return false;
    if (isFinished(found.execution) || found.execution.spec.cancel === true) return true;
    try {
      await this.deps.custom.patchNamespacedCustomObject(
        { group: API_GROUP, version: API_VERSION, plural: EXECUTION_PLURAL, ...found.ref, body: CANCEL_PATCH },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (error) {
      if (codeOf(error) === 404) return false;
      throw unavailable(error);
    }
    this.deps.log.info('Requested cancel of Execution', {
      execution: `${found.ref.namespace}/${found.ref.name}`,
      tenant,
    });
    return true;
  }

  /**
   * The time of the last attach, as an annotation every replica sees (the orphan check reads it).
   * Input that another replica acked and kept pending but could not send on (it went away) is
   * sent on from here: a client that lost its replica attaches through another.
   */
  async noteAttach(tenant: string, id: string): Promise<void> {
    const found = await this.find(tenant, id);
    if (!found || isFinished(found.execution)) return;
    if (found.execution.spec.interactive === true && hasPendingStdin(pendingStdinOf(found.execution))) {
      this.attaches.resume(found.ref, found.execution);
    }
    await this.patchExecution(found.ref, {
      metadata: { annotations: { [ATTACHED_AT_ANNOTATION]: this.now().toISOString() } },
    });
  }

  async attachedSince(tenant: string, id: string, sinceMs: number): Promise<boolean> {
    const ref = executionRef(tenant, id, this.namespaceSettings);
    if (!ref) return false;
    // From the API server: the note may be a moment old, and the watch a moment behind.
    const execution = await this.readWhole(ref);
    if (!execution || !this.belongs(execution, tenant)) return false;
    const noted = Date.parse(execution.metadata.annotations?.[ATTACHED_AT_ANNOTATION] ?? '');
    return Number.isFinite(noted) && noted >= sinceMs;
  }

  async stdin(tenant: string, id: string, data: string | null): Promise<void> {
    const found = await this.find(tenant, id);
    if (!found) throw notFound();
    if (found.execution.spec.interactive !== true) {
      throw new ApiError(409, 'not_interactive', 'the execution was not started with interactive: true');
    }
    await this.attaches.stdin(found.ref, found.execution, data);
  }

  follow(tenant: string, id: string, signal: AbortSignal): AsyncIterable<ExecutionEvent> | undefined {
    const ref = executionRef(tenant, id, this.namespaceSettings);
    if (!ref) return undefined;
    const cached = this.deps.executions.get(ref.namespace, ref.name);
    if (cached && !this.belongs(cached, tenant)) return undefined;
    // Not cached yet (created a moment ago, perhaps by another replica): the follower reads it.
    return followExecution(this.followContext, ref, (execution) => this.belongs(execution, tenant), signal);
  }

  async wait(tenant: string, id: string, signal?: AbortSignal): Promise<ExecutionResult | undefined> {
    const ref = executionRef(tenant, id, this.namespaceSettings);
    if (!ref) return undefined;
    const stop = signal ? AbortSignal.any([signal, this.closed.signal]) : this.closed.signal;
    const changes = new ExecutionChanges(this.deps.executions, ref);
    try {
      let execution = await this.read(ref);
      if (!execution || !this.belongs(execution, tenant)) return undefined;
      while (!isFinished(execution)) {
        const change = await changes.next(stop);
        if (!change) return toResult((await this.readWhole(ref)) ?? execution);
        if ('deleted' in change) return deletedResult(execution, this.now());
        execution = change.execution;
      }
      // The watch keeps Executions without their output.
      return (await this.finishedResult(ref, execution)) ?? toResult(execution);
    } finally {
      changes.close();
    }
  }

  /**
   * Unfinished Executions of the tenant as this replica's watch shows them (so those of every
   * replica), plus those it created itself that the watch has not shown yet. What another
   * replica is creating can be missing: from its admission through its create round trip to
   * this watch's delivery. On the dev cluster that is 9 ms (p50) to 19 ms (p99) for the create
   * and under 2 ms more for the watch. Within that window each replica may admit up to the cap
   * on its own, so the tenant can pass maxConcurrent by the starts that other replicas admit
   * within those milliseconds, and by no more.
   */
  unfinished(tenant: string): number {
    let count = 0;
    for (const execution of this.deps.executions.list()) {
      if (!isFinished(execution) && this.belongs(execution, tenant)) count += 1;
    }
    return count + this.unseenFor(tenant).length;
  }

  /** Executions this replica created for the tenant that the watch has not shown yet. */
  private unseenFor(tenant: string): { bytes: number }[] {
    const nowMs = this.now().getTime();
    const unseen: { bytes: number }[] = [];
    for (const [key, created] of this.unseenCreations) {
      const [namespace = '', name = ''] = key.split('/');
      if (this.deps.executions.get(namespace, name) || nowMs - created.createdAtMs > UNSEEN_CREATION_TTL_MS) {
        this.unseenCreations.delete(key);
      } else if (created.tenant === tenant) {
        unseen.push(created);
      }
    }
    return unseen;
  }

  /** A large request is kept a shorter while after it finishes: most of etcd's bytes are in few objects. */
  private ttlFor(requestBytes: number): number {
    const { ttlSecondsAfterFinished, storage } = this.deps.settings;
    if (requestBytes <= storage.largeExecutionBytes) return ttlSecondsAfterFinished;
    return Math.min(ttlSecondsAfterFinished, storage.largeTtlSecondsAfterFinished);
  }

  /**
   * Refuses a new Execution of `bytes` that would take the tenant past what it may keep stored.
   * Space comes back as finished Executions reach their TTL; the client is told when the first is due.
   */
  private admitStorage(tenant: string, bytes: number): void {
    const { maxExecutionsPerTenant, maxBytesPerTenant } = this.deps.settings.storage;
    const usage = this.stored(tenant);
    const overCount = usage.executions + 1 > maxExecutionsPerTenant;
    const overBytes = usage.bytes + bytes > maxBytesPerTenant;
    if (!overCount && !overBytes) return;
    const nowMs = this.now().getTime();
    const retryAfter =
      usage.nextExpiryMs === undefined
        ? STORAGE_RETRY_SECONDS
        : Math.max(1, Math.ceil((usage.nextExpiryMs - nowMs) / 1000));
    const what = overCount
      ? `${usage.executions} stored executions, its maximum of ${maxExecutionsPerTenant}`
      : `${usage.bytes} bytes of stored executions; this one (${bytes} bytes) would pass its maximum of ${maxBytesPerTenant}`;
    this.deps.log.warn('Refused Execution over the storage cap', {
      tenant,
      executions: usage.executions,
      bytes: usage.bytes,
    });
    throw tooMany(
      `tenant ${tenant} has ${what}; finished executions are deleted ttlSecondsAfterFinished after they end`,
      retryAfter,
    );
  }

  /** What the tenant keeps stored through its Executions, on every replica (see `unfinished`). */
  stored(tenant: string): StoredUsage {
    const usage = storedUsage(this.deps.executions.list(), (execution) => this.belongs(execution, tenant));
    for (const created of this.unseenFor(tenant)) {
      usage.executions += 1;
      usage.bytes += created.bytes;
    }
    return usage;
  }

  load(): { running: number; queued: number } {
    let running = 0;
    let queued = 0;
    for (const execution of this.deps.executions.list()) {
      const phase = phaseOf(execution);
      if (phase === 'Running') running += 1;
      else if (phase === 'Pending') queued += 1;
    }
    return { running, queued };
  }

  async ready(): Promise<boolean> {
    return (await this.readiness()).ready;
  }

  /** Whether this replica can serve, and if not, why; the reason is logged when it changes. */
  async readiness(): Promise<{ ready: boolean; reason?: string }> {
    const problem = this.closing
      ? 'the gateway is shutting down'
      : (this.deps.tenantsSecret?.unreadyReason ??
        this.deps.executions.problem ??
        this.deps.runtimes.problem ??
        (await apiServerProblem(this.deps.kubeConfig, this.deps.settings.probeTimeoutMs)));
    if (problem !== this.lastProblem) {
      if (problem) this.deps.log.warn('Became unready', { reason: problem });
      else this.deps.log.info('Became ready');
      this.lastProblem = problem;
    }
    return problem ? { ready: false, reason: problem } : { ready: true };
  }

  /**
   * Executions live on in the cluster: a replica going away leaves them running, and clients
   * attach again through another replica. Only this replica's watches and attaches end.
   */
  async close(_deadlineMs: number): Promise<void> {
    this.closing = true;
    this.closed.abort();
    this.attaches.close();
    await Promise.all([this.deps.executions.stop(), this.deps.runtimes.stop(), this.deps.tenantsSecret?.stop()]);
  }

  private belongs(execution: ExecutionObject, tenant: string): boolean {
    return belongsTo(execution.metadata, tenant, this.namespaceSettings);
  }

  private async find(
    tenant: string,
    id: string,
  ): Promise<{ ref: ExecutionRef; execution: ExecutionObject } | undefined> {
    const ref = executionRef(tenant, id, this.namespaceSettings);
    if (!ref) return undefined;
    const execution = await this.read(ref);
    if (!execution || !this.belongs(execution, tenant)) return undefined;
    return { ref, execution };
  }

  /**
   * From the watch's cache, without output; on a miss from the API server, which may know it
   * before the watch does.
   */
  private async read(ref: ExecutionRef): Promise<ExecutionObject | undefined> {
    return this.deps.executions.get(ref.namespace, ref.name) ?? this.readWhole(ref);
  }

  /** A merge patch; a 409 (resourceVersion no longer matches) is rethrown as `{ code: 409 }`. */
  private async patchExecution(ref: ExecutionRef, body: unknown): Promise<void> {
    try {
      await this.deps.custom.patchNamespacedCustomObject(
        { group: API_GROUP, version: API_VERSION, plural: EXECUTION_PLURAL, ...ref, body },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (error) {
      if (codeOf(error) === 409) throw Object.assign(new Error('the Execution changed meanwhile'), { code: 409 });
      throw unavailable(error);
    }
  }

  /**
   * The whole result of an Execution seen finished: kept from an earlier read of that version, or
   * read now and kept. Undefined when it is gone.
   */
  private async finishedResult(ref: ExecutionRef, seen: ExecutionObject): Promise<ExecutionResult | undefined> {
    const key = `${ref.namespace}/${ref.name}`;
    const kept = this.finishedResults.get(key, seen.metadata.resourceVersion);
    if (kept) return kept;
    const whole = await this.readWhole(ref);
    if (!whole) {
      this.finishedResults.delete(key);
      return undefined;
    }
    const result = toResult(whole);
    if (isFinished(whole)) this.finishedResults.set(key, whole.metadata.resourceVersion, result);
    return result;
  }

  private async readWhole(ref: ExecutionRef): Promise<ExecutionObject | undefined> {
    try {
      return (await this.deps.custom.getNamespacedCustomObject({
        group: API_GROUP,
        version: API_VERSION,
        plural: EXECUTION_PLURAL,
        ...ref,
      })) as ExecutionObject;
    } catch (error) {
      if (codeOf(error) === 404) return undefined;
      throw unavailable(error);
    }
  }
}
