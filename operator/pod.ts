import type { V1Container, V1Pod, V1Secret, V1SecurityContext, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { Limits } from '../contract/index.js';
import type { PodPolicy } from './config.js';
import {
  CONTAINER,
  childLabels,
  type Execution,
  ownerReference,
  podName,
  type Runtime,
  secretName,
} from './objects.js';
import type { ExecutionPlan } from './plan.js';

// The children of an Execution as they should be: a Secret carrying the program and its stdin, and
// the pod that compiles and runs it. Pure: the same inputs give the same objects on every pass.

const MiB = 1024 * 1024;

/** Where things are inside the containers; Runtime argv may name them. */
export const PATHS = {
  source: '/sandpod/src',
  input: '/sandpod/input',
  stdin: '/sandpod/input/stdin',
  build: '/sandpod/build',
  tmp: '/tmp',
} as const;

const VOLUME = { source: 'source', input: 'input', build: 'build', tmp: 'tmp' } as const;
const STDIN_KEY = 'stdin';
const fileKey = (index: number) => `file-${index}`;

/**
 * Source and stdin travel in a Secret owned by the Execution and mounted read-only: never through
 * an environment variable, an argument or a log, and kept from readers of ConfigMaps. Keys are
 * indexes because file names may hold `+`, which Secret keys may not; the volume maps them back.
 */
export function desiredSecret(execution: Execution, runtime: Runtime, plan: ExecutionPlan): V1Secret {
  const data: Record<string, string> = {};
  plan.files.forEach((file, index) => {
    data[fileKey(index)] = Buffer.from(file.content, 'utf8').toString('base64');
  });
  if (plan.stdin !== undefined) data[STDIN_KEY] = Buffer.from(plan.stdin, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secretName(execution),
      namespace: execution.metadata.namespace,
      labels: childLabels(execution, runtime.metadata.name),
      ownerReferences: [ownerReference(execution)],
    },
    type: 'Opaque',
    // Immutable Secrets are not watched by the kubelet, which matters with thousands of runs.
    immutable: true,
    data,
  };
}

export function desiredPod(execution: Execution, runtime: Runtime, plan: ExecutionPlan, policy: PodPolicy): V1Pod {
  const compiled = plan.compileArgv !== undefined && plan.compileLimits !== undefined;
  const securityContext = containerSecurityContext(policy);
  const run: V1Container = {
    name: CONTAINER.run,
    image: runtime.spec.image,
    imagePullPolicy: policy.imagePullPolicy,
    command: launch(plan.runArgv, plan.limits, stdinSource(plan), policy),
    workingDir: PATHS.source,
    env: [
      { name: 'HOME', value: PATHS.tmp },
      { name: 'TMPDIR', value: PATHS.tmp },
    ],
    resources: resources(plan.limits, policy),
    securityContext,
    volumeMounts: [
      sourceMount,
      ...(plan.stdin !== undefined ? [{ name: VOLUME.input, mountPath: PATHS.input, readOnly: true }] : []),
      ...(compiled ? [{ name: VOLUME.build, mountPath: PATHS.build, readOnly: true }] : []),
      { name: VOLUME.tmp, mountPath: PATHS.tmp },
    ],
    terminationMessagePolicy: 'File',
    ...(plan.interactive ? { stdin: true, stdinOnce: true } : {}),
  };
  const initContainers: V1Container[] = [];
  if (compiled && plan.compileArgv && plan.compileLimits) {
    initContainers.push({
      name: CONTAINER.compile,
      image: runtime.spec.image,
      imagePullPolicy: policy.imagePullPolicy,
      command: launch(plan.compileArgv, plan.compileLimits, 'none', policy),
      workingDir: PATHS.source,
      env: [
        { name: 'HOME', value: PATHS.build },
        { name: 'TMPDIR', value: PATHS.build },
      ],
      resources: resources(plan.compileLimits, policy),
      securityContext,
      volumeMounts: [sourceMount, { name: VOLUME.build, mountPath: PATHS.build }],
      terminationMessagePolicy: 'File',
    });
  }
  const volumes: V1Volume[] = [
    {
      name: VOLUME.source,
      secret: {
        secretName: secretName(execution),
        defaultMode: 0o444,
        items: plan.files.map((file, index) => ({ key: fileKey(index), path: file.name })),
      },
    },
    ...(plan.stdin !== undefined
      ? [
          {
            name: VOLUME.input,
            secret: {
              secretName: secretName(execution),
              defaultMode: 0o444,
              items: [{ key: STDIN_KEY, path: 'stdin' }],
            },
          },
        ]
      : []),
    ...(compiled && plan.compileLimits ? [scratch(VOLUME.build, plan.compileLimits.diskMiB)] : []),
    scratch(VOLUME.tmp, plan.limits.diskMiB),
  ];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName(execution),
      namespace: execution.metadata.namespace,
      labels: childLabels(execution, runtime.metadata.name),
      ownerReferences: [ownerReference(execution)],
    },
    spec: {
      restartPolicy: 'Never',
      ...(policy.runtimeClassName ? { runtimeClassName: policy.runtimeClassName } : {}),
      ...(policy.priorityClassName ? { priorityClassName: policy.priorityClassName } : {}),
      ...placement(policy),
      activeDeadlineSeconds: wallDeadlineSeconds(plan, policy),
      terminationGracePeriodSeconds: 1,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      hostNetwork: false,
      hostPID: false,
      hostIPC: false,
      shareProcessNamespace: false,
      dnsPolicy: 'None',
      dnsConfig: {
        nameservers: [policy.nameserver],
        searches: [],
        options: [
          { name: 'ndots', value: '0' },
          { name: 'attempts', value: '1' },
          { name: 'timeout', value: '1' },
        ],
      },
      securityContext: {
        runAsNonRoot: true,
        runAsUser: policy.uid,
        runAsGroup: policy.gid,
        seccompProfile: seccompProfile(policy),
      },
      ...(initContainers.length > 0 ? { initContainers } : {}),
      containers: [run],
      volumes,
    },
  };
}

/** Where pods may land: a dedicated node pool's labels and the taints that keep others off it. */
function placement(policy: PodPolicy): Pick<NonNullable<V1Pod['spec']>, 'nodeSelector' | 'tolerations'> {
  return {
    ...(Object.keys(policy.nodeSelector).length > 0 ? { nodeSelector: { ...policy.nodeSelector } } : {}),
    ...(policy.tolerations.length > 0
      ? { tolerations: policy.tolerations.map((toleration) => ({ ...toleration })) }
      : {}),
  };
}

/**
 * Seconds from the pod's start to its forced end: the compile and run wall limits rounded up, and
 * a grace for creating the sandbox, which the kubelet counts too.
 */
export function wallDeadlineSeconds(plan: ExecutionPlan, policy: PodPolicy): number {
  const compile = plan.compileArgv && plan.compileLimits ? Math.ceil(plan.compileLimits.wallTimeMs / 1000) : 0;
  return compile + Math.ceil(plan.limits.wallTimeMs / 1000) + policy.startGraceSeconds;
}

function stdinSource(plan: ExecutionPlan): 'file' | 'none' | 'live' {
  if (plan.interactive) return 'live';
  return plan.stdin !== undefined ? 'file' : 'none';
}

const sourceMount: V1VolumeMount = { name: VOLUME.source, mountPath: PATHS.source, readOnly: true };

/**
 * Scratch lives in memory: the size limit is a tmpfs size, so a write past it fails at once with
 * ENOSPC instead of an eviction seconds later; nothing an untrusted program writes touches the
 * node's disk; and it is gone with the pod. Its pages count toward the container's memory limit.
 */
function scratch(name: string, diskMiB: number): V1Volume {
  return { name, emptyDir: { medium: 'Memory', sizeLimit: `${diskMiB}Mi` } };
}

function containerSecurityContext(policy: PodPolicy): V1SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: policy.uid,
    runAsGroup: policy.gid,
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: seccompProfile(policy),
  };
}

function seccompProfile(policy: PodPolicy) {
  return policy.seccomp.type === 'Localhost'
    ? { type: 'Localhost', localhostProfile: policy.seccomp.localhostProfile }
    : { type: 'RuntimeDefault' };
}

/** Requests equal limits: the pod is Guaranteed, and the scheduler reserves what it may use. */
function resources(limits: Limits, policy: PodPolicy) {
  const amounts = {
    cpu: String(policy.cpus),
    memory: `${limits.memoryMiB}Mi`,
    'ephemeral-storage': `${ephemeralStorageMiB(limits, policy)}Mi`,
  };
  return { requests: amounts, limits: { ...amounts } };
}

/**
 * With a read-only root and scratch in memory, a container's ephemeral storage is its log. The
 * runtime frames every line, so the limit leaves room above outputBytes; exceeding it evicts the
 * pod, which ends as OutputLimitExceeded.
 */
export function ephemeralStorageMiB(limits: Limits, policy: PodPolicy): number {
  return Math.ceil((limits.outputBytes * policy.logOverheadFactor) / MiB) + policy.ephemeralBaseMiB;
}

/**
 * The container's command: a POSIX shell that sets the limits Kubernetes has no field for (CPU
 * seconds, processes, open files), connects stdin, runs the program and exits with its status
 * (128 + n when signal n killed it). The argv follows as positional parameters, so no part of it
 * is ever parsed by the shell.
 * RLIMIT_CPU: soft at the limit (SIGXCPU, reported as TimeLimitExceeded), hard one second later.
 * RLIMIT_NPROC counts per user inside the gVisor sandbox, so it bounds this run only.
 * The shell stays as the container's first process instead of exec'ing the program (`; exit $?`
 * keeps dash from exec'ing the last command): under runc the first process is its PID
 * namespace's init, for which the kernel drops signals whose default action is to terminate, so
 * an exec'd program would ignore SIGXCPU and only die at the hard limit's SIGKILL ("Signaled").
 */
export function launch(argv: string[], limits: Limits, stdin: 'file' | 'none' | 'live', policy: PodPolicy): string[] {
  const cpuSeconds = Math.ceil(limits.cpuTimeMs / 1000);
  const redirect = stdin === 'file' ? ` <${PATHS.stdin}` : stdin === 'none' ? ' </dev/null' : '';
  const script = [
    `ulimit -St ${cpuSeconds}`,
    `ulimit -Ht ${cpuSeconds + 1}`,
    `{ ulimit -p ${limits.pids} 2>/dev/null || ulimit -u ${limits.pids}; }`,
    `ulimit -n ${policy.openFiles}`,
    'ulimit -c 0',
    `"$@"${redirect}`,
  ].join(' && ');
  return ['/bin/sh', '-c', `${script}; exit $?`, 'sandpod', ...argv];
}
