import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import type { ExecutionStatus, WarmPoolStatus } from '../../contract/crd.js';
import { type Execution, LABELS, type Runtime, type WarmPool } from '../../contract/objects.js';
import { slimExecution } from '../../operator/cached-execution.js';
import type { LogRead } from '../../operator/output.js';
import type { PoolApi, PoolCache } from '../../operator/pool-reconciler.js';
import type { ClusterApi, ClusterCache, FollowRun } from '../../operator/reconciler.js';

// A small in-memory cluster for the reconciler's unit tests: objects, logs and events as state,
// so tests assert what the world looks like after a pass, not which calls were made. Integration
// tests against the dev cluster's real API server cover what this cannot (admission, watches).

const key = (namespace: string | undefined, name: string | undefined) => `${namespace}/${name}`;

export class World implements ClusterApi, ClusterCache, PoolApi, PoolCache {
  readonly poolObjects = new Map<string, WarmPool>();
  /** Bundles written to pods' launchers, by pod name. */
  readonly bundles = new Map<string, Buffer[]>();
  /** Whether launchers answer a bundle; false plays one that never takes it. */
  launchersAnswer = true;
  claimConflicts = 0;
  private podVersion = 0;
  private generated = 0;
  readonly executionObjects = new Map<string, Execution>();
  readonly pods = new Map<string, V1Pod>();
  readonly secrets = new Map<string, V1Secret>();
  readonly runtimeObjects: Runtime[] = [];
  readonly logs = new Map<string, string>();
  readonly events: { name: string; type: string; reason: string; note: string }[] = [];
  podsCreated = 0;
  secretsMade = 0;
  /** Makes the next createPod fail with this error. */
  failNextPodCreate: Error | undefined;

  /** What the operator's cache holds: the Execution slimmed as its watch slims it. */
  execution(namespace: string, name: string) {
    const stored = this.executionObjects.get(key(namespace, name));
    return stored && slimExecution(structuredClone(stored));
  }

  executions(namespace: string) {
    return [...this.executionObjects.values()]
      .filter((execution) => execution.metadata.namespace === namespace)
      .map((execution) => slimExecution(structuredClone(execution)));
  }

  /** The whole Execution as stored, for tests to look at. */
  stored(namespace: string, name: string) {
    return this.executionObjects.get(key(namespace, name));
  }

  async readExecution(namespace: string, name: string) {
    const stored = this.executionObjects.get(key(namespace, name));
    return stored ? structuredClone(stored) : null;
  }

  pod(namespace: string, name: string) {
    return this.pods.get(key(namespace, name));
  }

  runtimes() {
    return this.runtimeObjects;
  }

  pools(namespace: string) {
    return [...this.poolObjects.values()].filter((pool) => pool.metadata.namespace === namespace);
  }

  pool(namespace: string, name: string) {
    return this.poolObjects.get(key(namespace, name));
  }

  poolPods(namespace: string, name: string) {
    return [...this.pods.values()].filter(
      (pod) => pod.metadata?.namespace === namespace && pod.metadata?.labels?.[LABELS.pool] === name,
    );
  }

  claimedPod(namespace: string, execution: Execution) {
    return [...this.pods.values()].find(
      (pod) =>
        pod.metadata?.namespace === namespace &&
        pod.metadata?.ownerReferences?.some((ref) => ref.controller && ref.uid === execution.metadata.uid),
    );
  }

  async createPoolPod(pod: V1Pod) {
    this.generated += 1;
    const name = `${pod.metadata?.generateName ?? 'pod-'}${this.generated}`;
    this.podVersion += 1;
    this.pods.set(
      key(pod.metadata?.namespace, name),
      structuredClone({
        ...pod,
        metadata: { ...pod.metadata, name, uid: `pod-uid-${name}`, resourceVersion: String(this.podVersion) },
        status: { phase: 'Pending' },
      }),
    );
    return name;
  }

  /** A merge patch at a resourceVersion, as the API server applies it. */
  async claimPod(namespace: string, name: string, patch: object) {
    const pod = this.pods.get(key(namespace, name));
    if (!pod) return 'gone' as const;
    const wanted = patch as { metadata: V1Pod['metadata'] & object; spec: { activeDeadlineSeconds: number } };
    if (wanted.metadata.resourceVersion !== pod.metadata?.resourceVersion) {
      this.claimConflicts += 1;
      return 'conflict' as const;
    }
    this.podVersion += 1;
    const patched: V1Pod = {
      ...pod,
      metadata: {
        ...pod.metadata,
        resourceVersion: String(this.podVersion),
        labels: { ...pod.metadata?.labels, ...wanted.metadata.labels },
        annotations: { ...pod.metadata?.annotations, ...wanted.metadata.annotations },
        ...(wanted.metadata.ownerReferences ? { ownerReferences: wanted.metadata.ownerReferences } : {}),
      },
      spec: { containers: [], ...pod.spec, activeDeadlineSeconds: wanted.spec.activeDeadlineSeconds },
    };
    this.pods.set(key(namespace, name), patched);
    return structuredClone(patched);
  }

  /** Per pod name, the held attach of its last delivery. */
  readonly follows = new Map<string, FollowRun>();

  async deliver(
    _namespace: string,
    pod: string,
    bundle: Buffer,
    _timeoutMs: number,
    follow?: FollowRun,
    when?: Promise<boolean>,
  ) {
    if (when && !(await when)) return false;
    this.bundles.set(pod, [...(this.bundles.get(pod) ?? []), bundle]);
    if (follow && this.launchersAnswer) this.follows.set(pod, follow);
    return this.launchersAnswer;
  }

  async replacePoolStatus(pool: WarmPool, status: WarmPoolStatus) {
    const stored = this.poolObjects.get(key(pool.metadata.namespace, pool.metadata.name));
    if (stored) stored.status = structuredClone(status);
  }

  async recordPoolEvent(pool: WarmPool, type: 'Normal' | 'Warning', reason: string, note: string) {
    this.events.push({ name: pool.metadata.name, type, reason, note });
  }

  /** Bumps a pod's resourceVersion, as any write to it (the kubelet's status) does. */
  touchPod(namespace: string, name: string) {
    const pod = this.pods.get(key(namespace, name));
    if (!pod?.metadata) throw new Error(`no pod ${name}`);
    this.podVersion += 1;
    pod.metadata.resourceVersion = String(this.podVersion);
  }

  async readPod(namespace: string, name: string) {
    return this.pods.get(key(namespace, name)) ?? null;
  }

  async createPod(pod: V1Pod) {
    if (this.failNextPodCreate) {
      const error = this.failNextPodCreate;
      this.failNextPodCreate = undefined;
      throw error;
    }
    const k = key(pod.metadata?.namespace, pod.metadata?.name);
    if (this.pods.has(k)) return false;
    this.podsCreated += 1;
    this.pods.set(k, structuredClone({ ...pod, status: { phase: 'Pending' } }));
    return true;
  }

  async deletePod(namespace: string, name: string) {
    this.pods.delete(key(namespace, name));
  }

  async createSecret(secret: V1Secret) {
    const k = key(secret.metadata?.namespace, secret.metadata?.name);
    if (this.secrets.has(k)) return null;
    this.secretsMade += 1;
    const uid = `secret-uid-${this.secretsMade}`;
    this.secrets.set(k, structuredClone({ ...secret, metadata: { ...secret.metadata, uid } }));
    return uid;
  }

  async readSecretOwner(namespace: string, name: string) {
    const secret = this.secrets.get(key(namespace, name));
    if (!secret) return null;
    const controllerUid = secret.metadata?.ownerReferences?.find((ref) => ref.controller)?.uid;
    return { uid: secret.metadata?.uid ?? '', ...(controllerUid ? { controllerUid } : {}) };
  }

  /** Without a uid, deletes whatever has the name, as a delete without preconditions does. */
  async deleteSecret(namespace: string, name: string, uid?: string) {
    const k = key(namespace, name);
    if (uid === undefined || this.secrets.get(k)?.metadata?.uid === uid) this.secrets.delete(k);
  }

  async readLog(namespace: string, pod: string, read: LogRead) {
    if (!this.pods.has(key(namespace, pod))) throw new Error(`no pod ${pod}`);
    const text = this.logs.get(`${pod}/${read.container}/${read.stream}`) ?? '';
    return new TextEncoder().encode(text).subarray(0, read.limitBytes);
  }

  async replaceStatus(execution: Execution, status: ExecutionStatus) {
    const k = key(execution.metadata.namespace, execution.metadata.name);
    const current = this.executionObjects.get(k);
    if (!current || current.metadata.resourceVersion !== execution.metadata.resourceVersion) {
      throw new Error('409 Conflict: the object has been modified');
    }
    const version = String(Number(current.metadata.resourceVersion ?? '0') + 1);
    this.executionObjects.set(
      k,
      structuredClone({ ...current, metadata: { ...current.metadata, resourceVersion: version }, status }),
    );
  }

  async deleteExecution(execution: Execution) {
    const k = key(execution.metadata.namespace, execution.metadata.name);
    this.executionObjects.delete(k);
    // What the garbage collector does through owner references.
    for (const [podKey, pod] of this.pods) {
      if (pod.metadata?.ownerReferences?.some((ref) => ref.uid === execution.metadata.uid)) this.pods.delete(podKey);
    }
  }

  async recordEvent(execution: Execution, type: 'Normal' | 'Warning', reason: string, note: string) {
    this.events.push({ name: execution.metadata.name, type, reason, note });
  }

  /** What the kubelet would write into the pod's status. */
  setPodStatus(namespace: string, name: string, status: V1Pod['status']) {
    const pod = this.pods.get(key(namespace, name));
    if (!pod) throw new Error(`no pod ${name}`);
    pod.status = status;
  }

  addExecution(execution: Execution) {
    this.executionObjects.set(
      key(execution.metadata.namespace, execution.metadata.name),
      structuredClone({ ...execution, metadata: { ...execution.metadata, resourceVersion: '1' } }),
    );
  }

  patchSpec(namespace: string, name: string, spec: Partial<Execution['spec']>) {
    const current = this.executionObjects.get(key(namespace, name));
    if (!current) throw new Error(`no Execution ${name}`);
    current.spec = { ...current.spec, ...spec };
    current.metadata.generation = (current.metadata.generation ?? 1) + 1;
    current.metadata.resourceVersion = String(Number(current.metadata.resourceVersion ?? '0') + 1);
  }
}
