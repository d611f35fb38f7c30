import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import type { ExecutionStatus } from '../../contract/crd.js';
import type { Execution, Runtime } from '../../contract/objects.js';
import { slimExecution } from '../../operator/cached-execution.js';
import type { LogRead } from '../../operator/output.js';
import type { ClusterApi, ClusterCache } from '../../operator/reconciler.js';

// A small in-memory cluster for the reconciler's unit tests: objects, logs and events as state,
// so tests assert what the world looks like after a pass, not which calls were made. Integration
// tests against the dev cluster's real API server cover what this cannot (admission, watches).

const key = (namespace: string | undefined, name: string | undefined) => `${namespace}/${name}`;

export class World implements ClusterApi, ClusterCache {
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
