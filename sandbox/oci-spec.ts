// The OCI runtime spec of one sandboxed step. It says in runc's words what the operator's pod
// spec says in Kubernetes': non-root, no capabilities, no_new_privs, read-only root, an empty
// network namespace, a fresh pid namespace (so every descendant dies with the step), seccomp,
// and writable space only on the execution's capped scratch tmpfs.

import { randomBytes } from 'node:crypto';

export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  syscalls: { names: string[]; action: string; errnoRet?: number; args?: unknown[] }[];
}

/**
 * Where the step's /work, /tmp and /dev/shm live: one tmpfs, so one cap in bytes and inodes
 * covers all three. `host`: a tmpfs the caller mounted (and capped) on the host, which outlives
 * the step, for compiled programs whose run step needs what the compile step wrote. `runtime`:
 * a tmpfs the OCI runtime mounts inside the container, gone with it, that starts as a copy of
 * a directory the caller staged (work/ with the program's files, tmp/, shm/).
 */
export type StepScratch =
  | { kind: 'host'; work: string; tmp: string; shm: string }
  | { kind: 'runtime'; stagedDir: string; sizeMiB: number; inodes: number };

/** Where the runtime-mounted scratch tmpfs sits in the root; the root has the empty directory. */
export const SCRATCH_MOUNT_POINT = '/.scratch';

export interface StepSpecInput {
  argv: string[];
  env: Record<string, string>;
  uid: number;
  gid: number;
  /** Read-only root: a skeleton directory whose mount points the binds below fill. */
  rootfsPath: string;
  /** Host directories shown read-only, such as the toolchains under /usr. */
  readOnlyBinds: { source: string; destination: string }[];
  /** Whether the runtime applies read-only, nosuid and nodev to submounts too (mount-flags.ts). */
  recursiveMountFlags: boolean;
  scratch: StepScratch;
  /** Where the runtime puts the container in the cgroup tree, below the caller's parent. */
  cgroupsPath: string;
  seccomp: SeccompProfile;
  /** Tasks the program may have; repeated in the spec for runtimes that count them themselves. */
  pids: number;
  /** Open files per process; small enough that a flood of open() fails fast with EMFILE. */
  openFiles: number;
}

/**
 * The spec as runc reads it. The seccomp profile, most of the text and the same for every step,
 * is serialised once per profile and spliced in where a per-process random mark holds its place;
 * `linux` comes last in the spec, so the mark's last occurrence is that place even if a request's
 * arguments repeated the mark.
 */
export function stepSpecJson(spec: Record<string, unknown>): string {
  const linux = spec.linux as { seccomp?: SeccompProfile } | undefined;
  const profile = linux?.seccomp;
  if (!profile) return JSON.stringify(spec);
  let profileJson = serializedProfiles.get(profile);
  if (profileJson === undefined) {
    profileJson = JSON.stringify(profile);
    serializedProfiles.set(profile, profileJson);
  }
  const json = JSON.stringify({ ...spec, linux: { ...linux, seccomp: SECCOMP_MARK } });
  const at = json.lastIndexOf(`"${SECCOMP_MARK}"`);
  return `${json.slice(0, at)}${profileJson}${json.slice(at + SECCOMP_MARK.length + 2)}`;
}

const serializedProfiles = new WeakMap<SeccompProfile, string>();
const SECCOMP_MARK = `sandpod-seccomp-${randomBytes(12).toString('hex')}`;

/**
 * Paths of /proc and /sys the program never needs and that would tell it about the host: runc's
 * own defaults, and the machine-wide figures of other tenants' work (load, pressure, memory
 * fragmentation, disk and interrupt counts), the kernel's command line and modules. runc covers
 * each with an empty file or directory; runsc ignores the list, its /proc is its own kernel's and
 * shows none of the host's. /proc/meminfo and /proc/stat stay: programs size themselves from them
 * (glibc counts processors in /proc/stat when there is no /sys, Node sizes its heap from meminfo).
 */
const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/key-users',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/schedstat',
  '/proc/scsi',
  '/proc/interrupts',
  '/proc/softirqs',
  '/proc/pressure',
  '/proc/loadavg',
  '/proc/vmstat',
  '/proc/zoneinfo',
  '/proc/buddyinfo',
  '/proc/pagetypeinfo',
  '/proc/slabinfo',
  '/proc/diskstats',
  '/proc/partitions',
  '/proc/swaps',
  '/proc/locks',
  '/proc/cmdline',
  '/proc/modules',
  '/proc/iomem',
  '/proc/ioports',
  '/proc/kallsyms',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const SCRATCH_OPTIONS = ['rbind', 'rw', 'nosuid', 'nodev'];
/** The read-only binds' flags for every mount below them too. */
const RECURSIVE_BIND_FLAGS = ['rro', 'rnosuid', 'rnodev'];

function scratchMounts(scratch: StepScratch, rootfsPath: string): Record<string, unknown>[] {
  const sources =
    scratch.kind === 'host'
      ? scratch
      : {
          // Bind sources are looked up in the container's mount namespace while the runtime sets
          // it up, where this path already is the tmpfs below; on the host it names an empty
          // directory, so a runtime that looked there would fail instead of binding host files.
          work: `${rootfsPath}${SCRATCH_MOUNT_POINT}/work`,
          tmp: `${rootfsPath}${SCRATCH_MOUNT_POINT}/tmp`,
          shm: `${rootfsPath}${SCRATCH_MOUNT_POINT}/shm`,
        };
  const runtimeTmpfs =
    scratch.kind === 'host'
      ? []
      : [
          // The staged directory first, then a capped tmpfs over it that runc fills with a copy of
          // what it covers (tmpcopyup): the program's files arrive without a mount on the host.
          {
            destination: SCRATCH_MOUNT_POINT,
            type: 'bind',
            source: scratch.stagedDir,
            options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'],
          },
          {
            destination: SCRATCH_MOUNT_POINT,
            type: 'tmpfs',
            source: 'tmpfs',
            options: [
              'nosuid',
              'nodev',
              'tmpcopyup',
              'mode=0755',
              `size=${scratch.sizeMiB}m`,
              `nr_inodes=${scratch.inodes}`,
            ],
          },
        ];
  return [
    ...runtimeTmpfs,
    { destination: '/work', type: 'bind', source: sources.work, options: SCRATCH_OPTIONS },
    { destination: '/tmp', type: 'bind', source: sources.tmp, options: SCRATCH_OPTIONS },
    { destination: '/dev/shm', type: 'bind', source: sources.shm, options: [...SCRATCH_OPTIONS, 'noexec'] },
  ];
}

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
        options: ['rbind', 'ro', 'nosuid', 'nodev', ...(input.recursiveMountFlags ? RECURSIVE_BIND_FLAGS : [])],
      })),
      ...scratchMounts(input.scratch, input.rootfsPath),
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
