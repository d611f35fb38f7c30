// The OCI runtime spec of one sandboxed step. It says in runc's words what the operator's pod
// spec says in Kubernetes': non-root, no capabilities, no_new_privs, read-only root, an empty
// network namespace, a fresh pid namespace (so every descendant dies with the step), seccomp,
// and writable space only on the execution's capped scratch mount.

export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  syscalls: { names: string[]; action: string; errnoRet?: number; args?: unknown[] }[];
}

export interface StepSpecInput {
  argv: string[];
  env: Record<string, string>;
  uid: number;
  gid: number;
  /** Read-only root: a skeleton directory whose mount points the binds below fill. */
  rootfsPath: string;
  /** Host directories shown read-only, such as the toolchains under /usr. */
  readOnlyBinds: { source: string; destination: string }[];
  /** The execution's scratch tmpfs, already capped in size and inodes by the caller. */
  scratch: { work: string; tmp: string; shm: string };
  /** Where the runtime puts the container in the cgroup tree, below the caller's parent. */
  cgroupsPath: string;
  seccomp: SeccompProfile;
  /** Tasks the program may have; repeated in the spec for runtimes that count them themselves. */
  pids: number;
  /** Open files per process; small enough that a flood of open() fails fast with EMFILE. */
  openFiles: number;
}

/** Paths of /proc and /sys the program never needs and that would tell it about the host. */
const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/interrupts',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const SCRATCH_OPTIONS = ['rbind', 'rw', 'nosuid', 'nodev'];

export function buildStepSpec(input: StepSpecInput): Record<string, unknown> {
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: input.uid, gid: input.gid, additionalGids: [] },
      args: input.argv,
      env: Object.entries(input.env).map(([name, value]) => `${name}=${value}`),
      cwd: '/work',
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
      noNewPrivileges: true,
      rlimits: [
        { type: 'RLIMIT_NOFILE', hard: input.openFiles, soft: input.openFiles },
        { type: 'RLIMIT_CORE', hard: 0, soft: 0 },
      ],
    },
    root: { path: input.rootfsPath, readonly: true },
    hostname: 'sandbox',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'noexec', 'strictatime', 'mode=755', 'size=64k', 'nr_inodes=64'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
      },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      ...input.readOnlyBinds.map(({ source, destination }) => ({
        destination,
        type: 'bind',
        source,
        options: ['rbind', 'ro', 'nosuid', 'nodev'],
      })),
      { destination: '/work', type: 'bind', source: input.scratch.work, options: SCRATCH_OPTIONS },
      { destination: '/tmp', type: 'bind', source: input.scratch.tmp, options: SCRATCH_OPTIONS },
      { destination: '/dev/shm', type: 'bind', source: input.scratch.shm, options: [...SCRATCH_OPTIONS, 'noexec'] },
    ],
    linux: {
      namespaces: [
        { type: 'pid' },
        { type: 'network' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        { type: 'cgroup' },
      ],
      cgroupsPath: input.cgroupsPath,
      resources: {
        // Memory, pids and CPU are limited on the parent cgroup the caller made, where the kernel
        // charges them and counts OOM kills even after the runtime has removed this container.
        // The pids limit is repeated for gVisor, whose sentry counts the program's tasks itself.
        devices: [{ allow: false, access: 'rwm' }],
        pids: { limit: input.pids },
      },
      seccomp: input.seccomp,
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}
