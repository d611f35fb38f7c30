import { createHash } from 'node:crypto';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { LIMIT_NAMES, type Limits, PROGRAM_ENV_NAMES, runtimeLimitPolicy } from '../contract/index.js';
import { STDIN_GATE_MS } from '../contract/live-gate.js';
import {
  CONTAINER,
  type Execution,
  LABELS,
  MANAGED_BY,
  ownerReference,
  poolOwnerReference,
  type Runtime,
  type WarmPool,
} from '../contract/objects.js';
import type { Bundle } from '../sandbox/launcher/bundle.js';
import type { PodPolicy, Policy } from './config.js';
import type { ExecutionPlan } from './plan.js';
import { withRequested } from './plan.js';
import {
  containerSecurityContext,
  hardenedPodSpec,
  PATHS,
  RUN_SCRATCH_ARGS,
  resources,
  scratch,
  TERMINATION_MESSAGE_PATH,
  wallDeadlineSeconds,
} from './pod.js';

// Warm pools, the pure part: what a pool's pods look like, which Executions a pool may serve,
// which pods a pool has, and the patch that claims one. A pool pod is the hardened pod of a cold
// Execution with one container whose launcher (sandpod-launch --bundle 1) waits on its stdin for
// a program; nothing of any program is in it until an Execution claims it.

/** Annotation of a pool pod: a hash of what it was made from, so a changed pool replaces it. */
export const TEMPLATE_ANNOTATION = 'sandpod.dev/pool-template';
/** Annotation of a claimed pod: when it was claimed (RFC 3339 with milliseconds). */
export const CLAIMED_AT_ANNOTATION = 'sandpod.dev/claimed-at';
/**
 * Annotation of a claimed pod: the label of the launcher's last report on stdout. The program
 * cannot read it (no API token, no network, no downward API in the pod).
 */
export const NONCE_ANNOTATION = 'sandpod.dev/end-nonce';

const VOLUME = { tmp: 'tmp', build: 'build' } as const;

/** The size of a pool's pods and the limits Executions served by it may have at most. */
export interface PoolSize {
  /** An Execution's run limits must each be at most these. */
  limits: Limits;
  /** The Runtime's compile step, which every compiled Execution of it runs with. */
  compileLimits?: Limits;
}

export function poolSize(pool: WarmPool, runtime: Runtime, policy: Policy): PoolSize {
  const limits = withRequested(runtimeLimitPolicy(runtime.spec.limits, policy.limits).defaults, pool.spec.limits);
  return {
    limits,
    ...(runtime.spec.compile ? { compileLimits: withRequested(policy.compileLimits, runtime.spec.compileLimits) } : {}),
  };
}

/**
 * Memory the pod has beyond its largest step: the launcher then stops a step at that step's own
 * limit (bundleFor) before the host's cgroup, which under gVisor holds the whole sandbox, kills the
 * sandbox at the pod's.
 */
export const POOL_MEMORY_HEADROOM_MIB = 64;

/** What the pod reserves: the larger of the two steps and headroom, and a log that holds both. */
function podLimits(size: PoolSize): Limits {
  const compile = size.compileLimits;
  const memoryMiB = Math.max(size.limits.memoryMiB, compile?.memoryMiB ?? 0) + POOL_MEMORY_HEADROOM_MIB;
  if (!compile) return { ...size.limits, memoryMiB };
  return {
    ...size.limits,
    memoryMiB,
    diskMiB: Math.max(size.limits.diskMiB, compile.diskMiB),
    // The compile step's output is framed in base64 in the same log.
    outputBytes: size.limits.outputBytes + Math.ceil((compile.outputBytes * 4) / 3) + 4096,
  };
}

/**
 * Whether the pool can serve this plan: each run limit at most the pool's, and scratch exactly the
 * pool's (it is the size of the pod's memory-backed volume: a write past it fails with ENOSPC, and
 * a larger one would let a program write past its own diskMiB).
 *
 * Judged tests run in the one container, and its log (its ephemeral storage) holds every test's
 * output: a cold pod for N tests has ephemeralStorageMiB(limits, policy, N), the output limit N
 * times, and a pool pod the pool's output limit once (plus the compile step's, podLimits), with the
 * same overhead factor; so the N tests' output must fit in the pool's output limit. Their wall
 * time needs nothing of the pool: a pool pod has no deadline until its claim sets it from this
 * plan (claimPatch, wallDeadlineSeconds grows with the tests).
 */
export function fitsPool(plan: ExecutionPlan, size: PoolSize): boolean {
  const runs = plan.tests?.length ?? 1;
  if (plan.limits.outputBytes * runs > size.limits.outputBytes) return false;
  return LIMIT_NAMES.every((name) =>
    name === 'diskMiB' ? plan.limits[name] === size.limits[name] : plan.limits[name] <= size.limits[name],
  );
}

export function poolLabels(pool: WarmPool, runtime: Runtime): Record<string, string> {
  const tenant = pool.metadata.labels?.[LABELS.tenant];
  return {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.pool]: pool.metadata.name,
    [LABELS.runtime]: runtime.metadata.name,
    ...(tenant ? { [LABELS.tenant]: tenant } : {}),
  };
}

/** The selector of a pool's unclaimed pods, for its status (the scale subresource, HPA). */
export function poolSelector(pool: WarmPool): string {
  return `${LABELS.pool}=${pool.metadata.name},!${LABELS.claimed}`;
}

export function desiredPoolPod(pool: WarmPool, runtime: Runtime, size: PoolSize, policy: PodPolicy): V1Pod {
  const limits = podLimits(size);
  const compiled = size.compileLimits !== undefined;
  const container: V1Container = {
    name: CONTAINER.run,
    image: runtime.spec.image,
    imagePullPolicy: policy.imagePullPolicy,
    command: [
      policy.launcher,
      '--bundle',
      '1',
      '--open-files',
      String(policy.openFiles),
      ...PROGRAM_ENV_NAMES.flatMap((name) => ['--env', name]),
      ...RUN_SCRATCH_ARGS,
      '--report',
      TERMINATION_MESSAGE_PATH,
      '--',
    ],
    workingDir: PATHS.work,
    env: [
      { name: 'HOME', value: PATHS.work },
      { name: 'TMPDIR', value: PATHS.tmp },
    ],
    resources: resources(limits, policy),
    securityContext: containerSecurityContext(policy),
    volumeMounts: [
      { name: VOLUME.tmp, mountPath: PATHS.tmp, subPath: 'tmp' },
      { name: VOLUME.tmp, mountPath: PATHS.work, subPath: 'work' },
      ...(compiled ? [{ name: VOLUME.build, mountPath: PATHS.build }] : []),
    ],
    terminationMessagePath: TERMINATION_MESSAGE_PATH,
    terminationMessagePolicy: 'File',
    // The program comes through an attach; stdin stays open across attaches so that a bundle cut
    // short can be sent again (the launcher reads records, sandbox/launcher/bundle.ts).
    stdin: true,
    stdinOnce: false,
  };
  const spec = {
    ...hardenedPodSpec(policy),
    containers: [container],
    volumes: [
      scratch(VOLUME.tmp, limits.diskMiB),
      ...(compiled && size.compileLimits ? [scratch(VOLUME.build, size.compileLimits.diskMiB)] : []),
    ],
  };
  const template = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${pool.metadata.name.slice(0, 50)}-`,
      namespace: pool.metadata.namespace,
      labels: poolLabels(pool, runtime),
      annotations: { ...policy.annotations, [TEMPLATE_ANNOTATION]: template },
      ownerReferences: [poolOwnerReference(pool)],
    },
    spec,
  };
}

export function templateOf(pod: V1Pod): string | undefined {
  return pod.metadata?.annotations?.[TEMPLATE_ANNOTATION];
}

/** Controlled by this pool, not claimed, not on its way out. */
export function isPoolMember(pod: V1Pod, pool: WarmPool): boolean {
  const owner = pod.metadata?.ownerReferences?.find((ref) => ref.controller);
  return (
    owner?.uid === pool.metadata.uid &&
    pod.metadata?.labels?.[LABELS.claimed] === undefined &&
    pod.metadata?.deletionTimestamp === undefined
  );
}

export function hasEnded(pod: V1Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** Its launcher runs and waits: the pod may be claimed. */
export function isReady(pod: V1Pod): boolean {
  if (pod.status?.phase !== 'Running') return false;
  return pod.status.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false;
}

export interface PoolPlan {
  create: number;
  /** Pods to delete: ended ones, ones made from an older template, and those past spec.replicas. */
  remove: V1Pod[];
  replicas: number;
  readyReplicas: number;
}

/**
 * What to do about a pool's unclaimed pods. `pending` counts pods created a moment ago that the
 * cache may not show yet, so a stale cache never makes more than spec.replicas.
 */
export function planPool(members: V1Pod[], template: string, replicas: number, pending: number): PoolPlan {
  const dead = members.filter((pod) => hasEnded(pod) || templateOf(pod) !== template);
  const live = members.filter((pod) => !dead.includes(pod));
  const ready = live.filter(isReady);
  const surplus = Math.max(0, live.length + pending - replicas);
  // Starting pods go first: a ready one is worth more.
  const byValue = [...live.filter((pod) => !isReady(pod)), ...ready];
  const extra = byValue.slice(0, Math.min(surplus, live.length));
  return {
    create: Math.max(0, replicas - live.length - pending),
    remove: [...dead, ...extra],
    replicas: live.length - extra.length,
    readyReplicas: ready.filter((pod) => !extra.includes(pod)).length,
  };
}

/**
 * The merge patch that hands a ready pool pod to one Execution. Its resourceVersion makes it a
 * compare-and-swap: if anything changed the pod since the cache saw it (another claim above all),
 * the API server answers 409 and nothing is changed. The Execution becomes its only controller, so
 * it is deleted with the Execution and the pool no longer counts it; the pod's deadline is set now,
 * counted as the kubelet counts it, from the pod's start.
 */
export function claimPatch(
  pod: V1Pod,
  execution: Execution,
  plan: ExecutionPlan,
  policy: PodPolicy,
  now: Date,
  nonce: string,
) {
  const started = pod.status?.startTime ? new Date(pod.status.startTime).getTime() : now.getTime();
  const waitedSeconds = Math.max(0, Math.ceil((now.getTime() - started) / 1000));
  return {
    metadata: {
      resourceVersion: pod.metadata?.resourceVersion,
      labels: { [LABELS.claimed]: 'true', [LABELS.execution]: execution.metadata.name },
      annotations: { [CLAIMED_AT_ANNOTATION]: now.toISOString(), [NONCE_ANNOTATION]: nonce },
      ownerReferences: [ownerReference(execution)],
    },
    spec: { activeDeadlineSeconds: waitedSeconds + wallDeadlineSeconds(plan, policy) },
  };
}

/**
 * The program for the claimed pod's launcher. The pod is sized for the largest step; each step's
 * own memory limit is checked by the launcher under a sandbox runtime (gVisor's /proc/meminfo
 * describes the sandbox), as runMemoryWatched does for a cold run whose compiler needs more.
 */
export function bundleFor(plan: ExecutionPlan, policy: PodPolicy, nonce?: string): Bundle {
  const watched = policy.watchSandboxMemory && policy.runtimeClassName !== '';
  const bytes = (limits: Limits) => (watched ? { watchedMemoryBytes: limits.memoryMiB * 1024 * 1024 } : {});
  return {
    files: plan.files,
    ...(nonce ? { nonce } : {}),
    ...(plan.stdin !== undefined ? { stdin: plan.stdin } : {}),
    // A live stdin comes from the gateway's attach, gated as on a cold pod (contract/live-gate.ts).
    ...(plan.interactive ? { live: { gateMs: STDIN_GATE_MS } } : {}),
    ...(plan.compileArgv && plan.compileLimits
      ? { compile: { argv: plan.compileArgv, limits: plan.compileLimits, ...bytes(plan.compileLimits) } }
      : {}),
    run: { argv: plan.runArgv, limits: plan.limits, ...bytes(plan.limits) },
    // Judged: the launcher runs the program once per test, as a cold pod's --tests does.
    ...(plan.tests ? { tests: plan.tests, stopOnFailure: plan.stopOnFirstFailure === true } : {}),
  };
}

/** Whether this pod came from a pool. */
export function isWarm(pod: V1Pod | null | undefined): boolean {
  return pod?.metadata?.labels?.[LABELS.pool] !== undefined;
}

/** A pool in the namespace that serves this runtime (by name or alias) and fits the plan. */
export function choosePool(
  pools: Iterable<WarmPool>,
  runtime: Runtime,
  plan: ExecutionPlan,
  size: (pool: WarmPool) => PoolSize,
): WarmPool[] {
  const names = new Set([runtime.metadata.name, ...(runtime.spec.aliases ?? [])]);
  return [...pools].filter((pool) => names.has(pool.spec.runtime) && fitsPool(plan, size(pool)));
}
