import { createHash } from 'node:crypto';
import type { V1ObjectMeta } from '@kubernetes/client-node';
import {
  API_GROUP,
  API_VERSION,
  type EXECUTION_KIND,
  type ExecutionSpec,
  type ExecutionStatus,
  type RuntimeSpec,
  WARM_POOL_KIND,
  type WarmPoolSpec,
  type WarmPoolStatus,
} from './crd.js';

// The custom objects as both the gateway and the operator read and write them, and the names and
// labels of an Execution's children: the contract between the two sides.

export const API_VERSION_STRING = `${API_GROUP}/${API_VERSION}`;

export const EXECUTION_PLURAL = 'executions';
export const RUNTIME_PLURAL = 'runtimes';
export const WARM_POOL_PLURAL = 'warmpools';

/**
 * One Execution resource as either side reads or writes it. Status may be missing or partial: the
 * operator has not seen the object yet, or a person wrote it by hand.
 */
export interface ExecutionObject<Metadata extends V1ObjectMeta = V1ObjectMeta> {
  apiVersion: string;
  kind: typeof EXECUTION_KIND;
  metadata: Metadata;
  spec: ExecutionSpec;
  status?: Partial<ExecutionStatus>;
}

/** An Execution as the API server stored it: named, in a namespace, with a uid. */
export type Execution = ExecutionObject<V1ObjectMeta & { name: string; namespace: string; uid: string }>;

export interface Runtime {
  apiVersion: string;
  kind: 'Runtime';
  metadata: V1ObjectMeta & { name: string };
  spec: RuntimeSpec;
}

export interface WarmPool {
  apiVersion: string;
  kind: typeof WARM_POOL_KIND;
  metadata: V1ObjectMeta & { name: string; namespace: string; uid: string };
  spec: WarmPoolSpec;
  status?: Partial<WarmPoolStatus>;
}

export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  execution: `${API_GROUP}/execution`,
  runtime: `${API_GROUP}/runtime`,
  /** Set by the gateway on Executions it creates; copied to their children. */
  tenant: `${API_GROUP}/tenant`,
  /** The WarmPool a pod was made for; kept after the pod is claimed, for the metrics. */
  pool: `${API_GROUP}/warm-pool`,
  /** On a pool pod: `true` once an Execution claimed it (the pool then no longer counts it). */
  claimed: `${API_GROUP}/claimed`,
} as const;
export const MANAGED_BY = 'sandpod';

/** Selects every pod and Secret the operator made; its informers watch only these. */
export const MANAGED_SELECTOR = `${LABELS.managedBy}=${MANAGED_BY}`;

export const CONTAINER = { compile: 'compile', run: 'run' } as const;

const NAME_LIMIT = 63;

/**
 * `<execution>-<suffix>`, the same on every pass so a stale cache can never make a second child.
 * Names too long for a label value or a hostname keep a prefix and gain a hash of the whole.
 */
export function childName(executionName: string, suffix: string): string {
  const plain = `${executionName}-${suffix}`;
  if (plain.length <= NAME_LIMIT) return plain;
  const hash = createHash('sha256').update(executionName).digest('hex').slice(0, 10);
  const keep = NAME_LIMIT - suffix.length - hash.length - 2;
  const prefix = executionName.slice(0, keep).replace(/[-.]+$/, '');
  return `${prefix}-${hash}-${suffix}`;
}

/** The run pod of the Execution named so; the gateway derives it too, to reach a pod status has not named yet. */
export const podNameFor = (executionName: string) => childName(executionName, 'run');
export const podName = (execution: Execution) => podNameFor(execution.metadata.name);
export const secretName = (execution: Execution) => childName(execution.metadata.name, 'input');

export function childLabels(execution: Execution, runtimeName: string): Record<string, string> {
  const tenant = execution.metadata.labels?.[LABELS.tenant];
  return {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.execution]: labelValue(execution.metadata.name),
    [LABELS.runtime]: labelValue(runtimeName),
    ...(tenant ? { [LABELS.tenant]: labelValue(tenant) } : {}),
  };
}

/** The CRD keeps Execution names within 63 characters; this keeps a label valid regardless. */
function labelValue(text: string): string {
  return text.length <= NAME_LIMIT ? text : childName(text, 'x').slice(0, NAME_LIMIT);
}

export function ownerReference(execution: Execution) {
  return {
    apiVersion: API_VERSION_STRING,
    kind: 'Execution',
    name: execution.metadata.name,
    uid: execution.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Finds a Runtime by name or alias. */
export function findRuntime(runtimes: Iterable<Runtime>, name: string): Runtime | undefined {
  let byAlias: Runtime | undefined;
  for (const runtime of runtimes) {
    if (runtime.metadata.name === name) return runtime;
    if (!byAlias && runtime.spec.aliases?.includes(name)) byAlias = runtime;
  }
  return byAlias;
}

export function poolOwnerReference(pool: WarmPool) {
  return {
    apiVersion: API_VERSION_STRING,
    kind: WARM_POOL_KIND,
    name: pool.metadata.name,
    uid: pool.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}
