import type { V1Container, V1Pod, V1Secret, V1SecurityContext, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { type Limits, PROGRAM_ENV_NAMES } from '../contract/index.js';
import { STDIN_GATE_MS } from '../contract/live-gate.js';
import {
  CONTAINER,
  childLabels,
  type Execution,
  ownerReference,
  podName,
  type Runtime,
  secretName,
} from '../contract/objects.js';
import type { PodPolicy } from './config.js';
import type { ExecutionPlan } from './plan.js';

// The children of an Execution as they should be: a Secret carrying the program and its stdin, and
// the pod that compiles and runs it. Pure: the same inputs give the same objects on every pass.

const MiB = 1024 * 1024;

/** Where things are inside the containers; Runtime argv may name them. */
export const PATHS = {
  source: '/sandpod/src',
  input: '/sandpod/input',
  stdin: '/sandpod/input/stdin',
  /** <i>/stdin and <i>/args of each test, for the launcher's --tests. */
  tests: '/sandpod/tests',
  build: '/sandpod/build',
  tmp: '/tmp',
  /** The program's working directory and HOME, with a writable copy of the source files. */
  work: '/work',
} as const;

/** Where the launcher writes its report; the kubelet copies it into the container's status. */
export const TERMINATION_MESSAGE_PATH = '/dev/termination-log';

const VOLUME = { source: 'source', input: 'input', tests: 'tests', build: 'build', tmp: 'tmp' } as const;
const STDIN_KEY = 'stdin';
const testKey = (index: number, part: 'stdin' | 'args') => `test-${index}-${part}`;

/** The Secret keys of the tests' inputs and where the launcher finds each. */
function testItems(plan: ExecutionPlan): { key: string; path: string; content: string }[] {
  return (plan.tests ?? []).flatMap((test, index) => [
    ...(test.stdin !== undefined
      ? [{ key: testKey(index, 'stdin'), path: `${index}/stdin`, content: test.stdin }]
      : []),
    // NUL-separated, as the launcher reads them; an argument holds no NUL (request.ts).
    ...(test.args !== undefined && test.args.length > 0
      ? [{ key: testKey(index, 'args'), path: `${index}/args`, content: test.args.map((arg) => `${arg}\0`).join('') }]
      : []),
  ]);
}
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
  for (const item of testItems(plan)) data[item.key] = Buffer.from(item.content, 'utf8').toString('base64');
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
    command: launch(
      plan.runArgv,
      plan.limits,
      stdinSource(plan),
      policy,
      PATHS.source,
      runMemoryWatched(plan, policy),
      plan.tests ? { count: plan.tests.length, stopOnFailure: plan.stopOnFirstFailure === true } : undefined,
    ),
    workingDir: PATHS.work,
    env: [
      { name: 'HOME', value: PATHS.work },
      { name: 'TMPDIR', value: PATHS.tmp },
    ],
    resources: resources(plan.limits, policy, plan.tests?.length ?? 1),
    securityContext,
    volumeMounts: [
      sourceMount,
      ...(plan.stdin !== undefined ? [{ name: VOLUME.input, mountPath: PATHS.input, readOnly: true }] : []),
      ...(testItems(plan).length > 0 ? [{ name: VOLUME.tests, mountPath: PATHS.tests, readOnly: true }] : []),
      ...(compiled ? [{ name: VOLUME.build, mountPath: PATHS.build, readOnly: true }] : []),
      // One scratch volume, one diskMiB budget, for both, as in embedded mode.
      { name: VOLUME.tmp, mountPath: PATHS.tmp, subPath: 'tmp' },
      { name: VOLUME.tmp, mountPath: PATHS.work, subPath: 'work' },
    ],
    terminationMessagePath: TERMINATION_MESSAGE_PATH,
    terminationMessagePolicy: 'File',
    // Every attach shares a stdin that stays open: a gateway replica that dies while attached
    // leaves the program's input to the next (the launcher reads it as records, --live-ms).
    ...(plan.interactive ? { stdin: true, stdinOnce: false } : {}),
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
      terminationMessagePath: TERMINATION_MESSAGE_PATH,
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
    ...(testItems(plan).length > 0
      ? [
          {
            name: VOLUME.tests,
            secret: {
              secretName: secretName(execution),
              defaultMode: 0o444,
              items: testItems(plan).map(({ key, path }) => ({ key, path })),
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
      ...(Object.keys(policy.annotations).length > 0 ? { annotations: { ...policy.annotations } } : {}),
      ownerReferences: [ownerReference(execution)],
    },
    spec: {
      ...hardenedPodSpec(policy),
      activeDeadlineSeconds: wallDeadlineSeconds(plan, policy),
      ...(initContainers.length > 0 ? { initContainers } : {}),
      containers: [run],
      volumes,
    },
  };
}

/**
 * Whether the pod's run container takes live input as launcher records on a stdin that outlives
 * each attach (status.stdinRecords): every interactive pod this operator makes, and every warm pod.
 */
export function takesStdinRecords(pod: V1Pod | null | undefined): boolean {
  const run = pod?.spec?.containers.find((container) => container.name === CONTAINER.run);
  return run?.stdin === true && run.stdinOnce !== true;
}

/**
 * What every pod that runs a program has, cold or warm: the sandbox runtime, no token, no links to
 * Services, no host namespaces, no DNS but the configured (unreachable) one, non-root with seccomp.
 */
export function hardenedPodSpec(policy: PodPolicy): NonNullable<V1Pod['spec']> {
  return {
    containers: [],
    restartPolicy: 'Never',
    ...(policy.runtimeClassName ? { runtimeClassName: policy.runtimeClassName } : {}),
    ...(policy.priorityClassName ? { priorityClassName: policy.priorityClassName } : {}),
    ...placement(policy),
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
 * a grace for creating the sandbox, which the kubelet counts too; an interactive run may also wait
 * for the gateway's stdin gate before its program starts.
 */
export function wallDeadlineSeconds(plan: ExecutionPlan, policy: PodPolicy): number {
  const compile = plan.compileArgv && plan.compileLimits ? Math.ceil(plan.compileLimits.wallTimeMs / 1000) : 0;
  const runs = plan.tests?.length ?? 1;
  const gate = plan.interactive ? Math.ceil(STDIN_GATE_MS / 1000) : 0;
  return compile + Math.ceil((plan.limits.wallTimeMs * runs) / 1000) + gate + policy.startGraceSeconds;
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
export function scratch(name: string, diskMiB: number): V1Volume {
  return { name, emptyDir: { medium: 'Memory', sizeLimit: `${diskMiB}Mi` } };
}

export function containerSecurityContext(policy: PodPolicy): V1SecurityContext {
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

/**
 * The run step's scratch directories, for the launcher to empty before the step, between tests and
 * (warm pods) after a compile step; the build directory, which holds the compiled program, is not
 * among them.
 */
export const RUN_SCRATCH_ARGS = ['--scratch', PATHS.work, '--scratch', PATHS.tmp];

/**
 * Requests equal limits: the pod is Guaranteed, and the scheduler reserves what it may use; only
 * CPU may be requested below its limit (policy.cpuRequest), for pods that burst on idle cores.
 */
export function resources(limits: Limits, policy: PodPolicy, runs = 1) {
  const amounts = {
    cpu: String(policy.cpus),
    memory: `${limits.memoryMiB}Mi`,
    'ephemeral-storage': `${ephemeralStorageMiB(limits, policy, runs)}Mi`,
  };
  return { requests: { ...amounts, cpu: String(policy.cpuRequest ?? policy.cpus) }, limits: amounts };
}

/**
 * With a read-only root and scratch in memory, a container's ephemeral storage is its log. The
 * runtime frames every line, so the limit leaves room above outputBytes; exceeding it evicts the
 * pod, which ends as OutputLimitExceeded.
 */
export function ephemeralStorageMiB(limits: Limits, policy: PodPolicy, runs = 1): number {
  return Math.ceil((limits.outputBytes * runs * policy.logOverheadFactor) / MiB) + policy.ephemeralBaseMiB;
}

/**
 * The container's command: the launcher (sandbox/launcher/sandpod-launch.c, in every runtime
 * image at `policy.launcher`) runs the argv as its child and enforces what Kubernetes has no field
 * for: the step's wall time from its own start, the CPU time of all its processes and threads,
 * one output budget for stdout and stderr, the run step's memory where the host cannot hold it
 * (runMemoryWatched), the allow-listed environment, a session of its own,
 * the process and open-file limits and stdin; for the run step it copies the source files from their
 * read-only Secret volume into the writable working directory, as embedded mode stages them. It kills every process of the step when the
 * program ends or a limit is hit, and writes the outcome with millisecond times as the
 * termination message (read back by sandbox/launcher/report.ts). The argv is never parsed by a shell.
 * RLIMIT_NPROC counts per user inside the gVisor sandbox, so it bounds this run only.
 */
/**
 * Whether the launcher checks the run step's memory itself: under a sandbox runtime the pod's
 * cgroup is what the host enforces, and a compile step with more memory makes it larger than the
 * run's own limit (config.ts, watchSandboxMemory).
 */
export function runMemoryWatched(plan: ExecutionPlan, policy: PodPolicy): boolean {
  return (
    policy.watchSandboxMemory &&
    policy.runtimeClassName !== '' &&
    plan.compileLimits !== undefined &&
    plan.compileLimits.memoryMiB > plan.limits.memoryMiB
  );
}

export function launch(
  argv: string[],
  limits: Limits,
  stdin: 'file' | 'none' | 'live',
  policy: PodPolicy,
  copySourcesFrom?: string,
  watchMemory = false,
  tests?: { count: number; stopOnFailure: boolean },
): string[] {
  // A live stdin comes as records, and the first is the gate (contract/live-gate.ts): the
  // gateway's attach then sees all the output.
  const stdinArgs =
    stdin === 'file'
      ? ['--stdin', PATHS.stdin]
      : stdin === 'none'
        ? ['--stdin', '/dev/null']
        : ['--live-ms', String(STDIN_GATE_MS)];
  return [
    policy.launcher,
    '--wall-ms',
    String(limits.wallTimeMs),
    '--cpu-ms',
    String(limits.cpuTimeMs),
    '--output-bytes',
    String(limits.outputBytes),
    '--pids',
    String(limits.pids),
    '--open-files',
    String(policy.openFiles),
    ...(watchMemory ? ['--sandbox-memory-bytes', String(limits.memoryMiB * 1024 * 1024)] : []),
    ...stdinArgs,
    ...PROGRAM_ENV_NAMES.flatMap((name) => ['--env', name]),
    // The run step's scratch, emptied before it starts (and between tests): a container the
    // kubelet starts again in the same pod finds nothing of an attempt the runtime lost.
    ...(copySourcesFrom ? ['--copy-from', copySourcesFrom, ...RUN_SCRATCH_ARGS] : []),
    ...(tests
      ? [
          '--tests',
          String(tests.count),
          '--tests-dir',
          PATHS.tests,
          // Only a test that did not end cleanly stops the round in the pod: the expected outputs
          // never reach it, so the tests after a wrong answer run and the operator skips them.
          ...(tests.stopOnFailure ? ['--stop-on-failure', '1'] : []),
        ]
      : []),
    '--report',
    TERMINATION_MESSAGE_PATH,
    '--',
    ...argv,
  ];
}
