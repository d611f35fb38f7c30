import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { z } from 'zod';
import { STATUS_BOUNDS } from '../contract/crd.js';
import {
  DEFAULT_COMPILE_LIMITS,
  DEFAULT_LIMIT_POLICY,
  firstFieldError,
  limitPolicySchema,
  limitsSchema,
} from '../contract/index.js';

// Every knob of the operator has its home here: defaults in the schema, overrides from a YAML file
// named by SANDPOD_OPERATOR_CONFIG and a few environment variables (LOG_LEVEL, WATCH_NAMESPACE,
// POD_NAMESPACE, SANDPOD_RUNTIME_CLASS).

const tolerationSchema = z.strictObject({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.int().optional(),
});

const podPolicySchema = z.strictObject({
  /**
   * RuntimeClass of every pod; empty means the node's default runtime, runc (only for development
   * and tests). SANDPOD_RUNTIME_CLASS overrides it.
   */
  runtimeClassName: z.string().default('gvisor'),
  seccomp: z
    .discriminatedUnion('type', [
      z.strictObject({ type: z.literal('RuntimeDefault') }),
      /** Path relative to the kubelet's seccomp directory, such as `sandpod/seccomp.json`. */
      z.strictObject({ type: z.literal('Localhost'), localhostProfile: z.string().min(1) }),
    ])
    .default({ type: 'RuntimeDefault' }),
  /** The unprivileged user and group every program and compiler runs as. */
  uid: z.int().min(1).default(65534),
  gid: z.int().min(1).default(65534),
  /** CPU cores each container may use (its limit), and requests unless cpuRequest says less. */
  cpus: z.number().positive().max(64).default(1),
  /**
   * CPU cores each container requests, what the scheduler places pods by; left out, cpus (the pod
   * is Guaranteed). Less than cpus lets a pod burst to cpus on cores its node has idle (Burstable):
   * an interpreter starts faster on a node packed by requests, and wall times vary more under load.
   */
  cpuRequest: z.number().positive().max(64).optional(),
  /**
   * Seconds added to activeDeadlineSeconds: the deadline counts from the pod's start, which
   * includes creating the sandbox, not only the program's run.
   */
  startGraceSeconds: z.int().min(0).max(300).default(3),
  /** The only nameserver a pod gets; loopback inside the pod, where nothing answers. */
  nameserver: z.string().default('127.0.0.1'),
  /**
   * Container logs count toward ephemeral storage, with the runtime's per-line framing on top of
   * the program's bytes; the limit is outputBytes times this factor plus ephemeralBaseMiB.
   */
  logOverheadFactor: z.number().min(1).max(64).default(4),
  ephemeralBaseMiB: z.int().min(1).max(1024).default(8),
  /** RLIMIT_NOFILE of programs and compilers. */
  openFiles: z.int().min(16).max(65_536).default(256),
  /**
   * Path of sandpod-launch (sandbox/launcher) in every runtime image: the first process of each
   * container, which enforces the step's wall and CPU time, output cap and environment.
   */
  launcher: z.string().startsWith('/').default('/usr/local/bin/sandpod-launch'),
  /**
   * gVisor runs every container of a pod in one sandbox, and the host limits that sandbox as a
   * whole, to the pod's cgroup: as large as the largest container, the compiler's. A run step
   * that follows a compile step with more memory then has its own limit checked by the launcher,
   * from the sandbox's memory in use. Only with a RuntimeClass: without one (runc) every
   * container's cgroup holds its own limit, and /proc/meminfo describes the host. Turn it off for
   * a RuntimeClass that limits each container itself, such as Kata's.
   */
  watchSandboxMemory: z.boolean().default(true),
  /**
   * Annotations of every execution pod. Under gVisor, `dev.gvisor.flag.oci-seccomp: "true"` has
   * runsc apply the pod's seccomp profile inside the sandbox, which it otherwise ignores;
   * containerd hands it on only for runtimes whose `pod_annotations` list it.
   */
  annotations: z.record(z.string(), z.string()).default({}),
  imagePullPolicy: z.enum(['IfNotPresent', 'Never', 'Always']).default('IfNotPresent'),
  /** Name of the priority class of execution pods; empty leaves it unset. */
  priorityClassName: z.string().default(''),
  /** Node labels every execution pod requires, for a node pool set aside for untrusted programs. */
  nodeSelector: z.record(z.string(), z.string()).default({}),
  /** Taints of that pool the pods tolerate, in the pod spec's own form. */
  tolerations: z.array(tolerationSchema).default([]),
});
export type PodPolicy = z.infer<typeof podPolicySchema>;

const statusPolicySchema = z.strictObject({
  /** Characters of stdout and of stderr kept in status. */
  outputChars: z.int().min(0).max(STATUS_BOUNDS.outputChars).default(STATUS_BOUNDS.outputChars),
  compileOutputChars: z.int().min(0).max(STATUS_BOUNDS.compileOutputChars).default(STATUS_BOUNDS.compileOutputChars),
  /**
   * Read stdout and stderr apart (`stream=Stdout|Stderr` of pods/log, alpha feature gate
   * PodLogsQuerySplitStreams on the API server and kubelet). Where the API server refuses it, the
   * operator notices on the first read and takes both interleaved as stdout from then on.
   */
  splitStreams: z.boolean().default(true),
  /** A pod that has not started its program after this long ends as SystemError. */
  podStartTimeoutSeconds: z.int().positive().default(120),
  /**
   * A pod still not ended this long after its activeDeadlineSeconds means the node failed to stop
   * it; the Execution then ends as SystemError and the pod is deleted.
   */
  deadlineGraceSeconds: z.int().positive().default(30),
  /** An Execution naming a Runtime that does not exist waits this long, then fails. */
  runtimeMissingSeconds: z.int().min(0).default(30),
  /**
   * Tries at reading an ended pod's logs (with the work queue's backoff between them) before the
   * Execution ends without its output, the message saying why; each try gives up after
   * logReadTimeoutMs (an unreachable kubelet would hold a worker until the API server gives up).
   */
  logReadAttempts: z.int().positive().max(100).default(3),
  logReadTimeoutMs: z.int().positive().default(10_000),
  /**
   * And the reads go on failing at least this long after the first failure: a kubelet restarting
   * refuses every log read for a few seconds, which the work queue's first retries (50 ms, 100 ms,
   * ...) would spend at once, and a program that ran well would end without its output.
   */
  logReadGiveUpSeconds: z.int().min(0).default(60),
});
export type StatusPolicy = z.infer<typeof statusPolicySchema>;

export const operatorConfigSchema = z.strictObject({
  logLevel: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  /** Namespace to watch; empty watches all. */
  watchNamespace: z.string().default(''),
  pod: podPolicySchema
    .refine((pod) => pod.cpuRequest === undefined || pod.cpuRequest <= pod.cpus, {
      message: 'must be at most cpus: a container never gets more than its limit',
      path: ['cpuRequest'],
    })
    .prefault({}),
  /** Fallback for Runtimes that name no defaults or maxima of their own. */
  limits: limitPolicySchema.default(DEFAULT_LIMIT_POLICY),
  compileLimits: limitsSchema.default(DEFAULT_COMPILE_LIMITS),
  status: statusPolicySchema.prefault({}),
  capacity: z
    .strictObject({
      /** Executions of one namespace (tenant) running at once; 0 means no cap. */
      maxRunningPerNamespace: z.int().min(0).default(16),
    })
    .prefault({}),
  /**
   * Client-side rate limit of every request to the API server (creates, status writes, deletes,
   * log reads, events, lists; not the watch streams): a token bucket refilled at `qps` per second
   * that holds `burst`, as kube-controller-manager's --kube-api-qps (20) and --kube-api-burst (30).
   * An Execution costs about 11 requests (the Job controller's Job about 6), so 100 per second
   * works off about 9 Executions per second (BENCHMARKS.md). `qps: 0` turns it off.
   */
  api: z
    .strictObject({
      qps: z.number().min(0).max(10_000).default(100),
      burst: z.int().min(1).max(10_000).default(200),
    })
    .prefault({}),
  /** Backoff of a watch that failed before it starts again (after 410 Gone it relists at once). */
  watch: z
    .strictObject({
      baseDelayMs: z.int().positive().default(1000),
      maxDelayMs: z.int().positive().default(30_000),
    })
    .prefault({}),
  queue: z
    .strictObject({
      /** Reconciles at once: each waits mostly on the API server, so more workers mean shorter queues. */
      workers: z.int().positive().max(256).default(64),
      baseDelayMs: z.int().positive().default(50),
      maxDelayMs: z.int().positive().default(300_000),
    })
    .prefault({}),
  leaderElection: z
    .strictObject({
      enabled: z.boolean().default(true),
      leaseName: z.string().default('sandpod-operator'),
      /** Namespace of the Lease; defaults to the pod's own namespace (POD_NAMESPACE). */
      leaseNamespace: z.string().default('sandpod-system'),
      leaseDurationSeconds: z.int().positive().default(15),
      renewDeadlineSeconds: z.int().positive().default(10),
      retryPeriodSeconds: z.int().positive().default(2),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      host: z.string().default('0.0.0.0'),
      port: z.int().min(0).max(65535).default(8081),
    })
    .prefault({}),
  shutdownGraceMs: z.int().min(0).default(20_000),
});
export type OperatorConfig = z.infer<typeof operatorConfigSchema>;

/** What the pure pod builder and status mapper need from the configuration. */
export type Policy = Pick<OperatorConfig, 'pod' | 'limits' | 'compileLimits' | 'status' | 'capacity'>;

export class OperatorConfigError extends Error {
  override name = 'OperatorConfigError';
}

export function loadOperatorConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const path = env.SANDPOD_OPERATOR_CONFIG;
  const fromFile = path ? yaml.load(readFileSync(path, 'utf8')) : {};
  if (fromFile !== undefined && (fromFile === null || typeof fromFile !== 'object')) {
    throw new OperatorConfigError(`${path}: expected a mapping`);
  }
  const merged: Record<string, unknown> = { ...(fromFile as object) };
  if (env.LOG_LEVEL) merged.logLevel = env.LOG_LEVEL;
  if (env.WATCH_NAMESPACE !== undefined) merged.watchNamespace = env.WATCH_NAMESPACE;
  if (env.SANDPOD_RUNTIME_CLASS !== undefined) {
    merged.pod = { ...(merged.pod as object | undefined), runtimeClassName: env.SANDPOD_RUNTIME_CLASS };
  }
  if (env.POD_NAMESPACE) {
    merged.leaderElection = { leaseNamespace: env.POD_NAMESPACE, ...(merged.leaderElection as object | undefined) };
  }
  return parseOperatorConfig(merged);
}

export function parseOperatorConfig(input: unknown): OperatorConfig {
  const parsed = operatorConfigSchema.safeParse(input);
  if (!parsed.success) {
    const { field, message } = firstFieldError(parsed.error);
    throw new OperatorConfigError(`invalid operator configuration at ${field || '(root)'}: ${message}`);
  }
  return parsed.data;
}
