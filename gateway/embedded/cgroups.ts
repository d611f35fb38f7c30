import { statfsSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Limits } from '../../contract/index.js';

// Each sandboxed step gets a parent cgroup that sandpod owns and the OCI runtime places its
// container below. The limits sit on the parent, so the kernel charges CPU time and counts OOM
// kills there, and those counters are still readable after the runtime has removed its container.
// cgroup v2 is the primary target; v1 (and the hybrid layout with an empty v2 beside it) works too.

const CGROUP2_SUPER_MAGIC = 0x63677270;
const CGROUP_ROOT = '/sys/fs/cgroup';
const MiB = 1024 * 1024;
const CPU_PERIOD_US = 100_000;
/** A few pages: the high-water mark stops just short of the limit when the last charge fails. */
const LIMIT_SLACK_BYTES = 256 * 1024;

export type StepLimits = Pick<Limits, 'memoryMiB' | 'pids'> & { cpus: number };

export interface StepCgroup {
  /** cgroupsPath for the OCI spec: the container's cgroup, below this parent. */
  readonly containerPath: string;
  /** CPU time of every process and thread that ran below the parent. */
  cpuTimeMs(): Promise<number>;
  /**
   * Whether the step ran into its memory limit: OOM kills under the parent on v2, where the
   * count is hierarchical; on v1 the kill is counted only in the runtime's own (removed) cgroup,
   * so the parent's high-water mark reaching the limit stands in for it.
   */
  memoryLimitHit(): Promise<boolean>;
  /**
   * Whether the step's tasks reached the pids limit. The peak is read, not the count of refused
   * forks: on v1 (and v2 before Linux 6.13) that count stays in the runtime's removed cgroup.
   */
  pidsLimitReached(): Promise<boolean>;
  /** Kills whatever still runs below the parent and removes it. */
  remove(): Promise<void>;
}

export interface CgroupDriver {
  readonly version: 1 | 2;
  create(name: string, limits: StepLimits): Promise<StepCgroup>;
}

export class CgroupSetupError extends Error {
  override name = 'CgroupSetupError';
}

export function detectCgroupDriver(parentName = 'sandpod'): CgroupDriver {
  const fsType = statfsSync(CGROUP_ROOT).type;
  return fsType === CGROUP2_SUPER_MAGIC ? new CgroupV2Driver(parentName) : new CgroupV1Driver(parentName);
}

/** The v2 driver over any directory laid out like the unified hierarchy. */
export function cgroupV2Driver(parentName: string, root: string): CgroupDriver {
  return new CgroupV2Driver(parentName, root);
}

const readNumber = async (path: string) => Number((await readFile(path, 'utf8')).trim());

/** The value of `key` in a flat-keyed file such as memory.events or cpu.stat. */
async function readKeyed(path: string, key: string): Promise<number> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const line = text.split('\n').find((entry) => entry.startsWith(`${key} `));
  return line ? Number(line.slice(key.length + 1)) : 0;
}

async function removeWithRetry(path: string, kill: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(path);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt >= 50) throw error;
      await kill();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Sends SIGKILL to every process listed below `dir`, children first. */
async function killProcessesBelow(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory()) await killProcessesBelow(join(dir, entry.name));
  }
  const procs = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  for (const pid of procs.split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

async function removeTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory()) await removeTree(join(dir, entry.name));
  }
  await removeWithRetry(dir, () => killProcessesBelow(dir));
}

class CgroupV2Driver implements CgroupDriver {
  readonly version = 2;
  private delegated = false;

  constructor(
    private readonly parentName: string,
    private readonly root = CGROUP_ROOT,
  ) {}

  private async delegateControllers(): Promise<void> {
    if (this.delegated) return;
    const enable = '+cpu +memory +pids';
    try {
      await writeFile(join(this.root, 'cgroup.subtree_control'), enable);
      await mkdir(join(this.root, this.parentName), { recursive: true });
      await writeFile(join(this.root, this.parentName, 'cgroup.subtree_control'), enable);
    } catch (error) {
      throw new CgroupSetupError(
        `cannot delegate the cpu, memory and pids controllers under ${this.root}: ${(error as Error).message}`,
      );
    }
    this.delegated = true;
  }

  async create(name: string, limits: StepLimits): Promise<StepCgroup> {
    await this.delegateControllers();
    const relative = `${this.parentName}/${name}`;
    const dir = join(this.root, relative);
    await mkdir(dir);
    const memory = String(limits.memoryMiB * MiB);
    await writeFile(join(dir, 'memory.max'), memory);
    await writeFile(join(dir, 'memory.swap.max'), '0').catch(() => undefined);
    await writeFile(join(dir, 'pids.max'), String(limits.pids));
    await writeFile(join(dir, 'cpu.max'), `${Math.round(limits.cpus * CPU_PERIOD_US)} ${CPU_PERIOD_US}`);
    await writeFile(join(dir, 'cgroup.subtree_control'), '+cpu +memory +pids');
    const kill = async () => {
      await writeFile(join(dir, 'cgroup.kill'), '1').catch(() => killProcessesBelow(dir));
    };
    return {
      containerPath: `/${relative}/container`,
      cpuTimeMs: async () => (await readKeyed(join(dir, 'cpu.stat'), 'usage_usec')) / 1000,
      memoryLimitHit: async () => (await readKeyed(join(dir, 'memory.events'), 'oom_kill')) > 0,
      pidsLimitReached: async () => (await readNumber(join(dir, 'pids.peak'))) >= limits.pids,
      remove: async () => {
        await kill();
        await removeTree(dir);
      },
    };
  }
}

interface V1Hierarchy {
  mountPoint: string;
  controllers: string[];
}

/** v1 hierarchies from /proc/self/mountinfo, named by their controllers. */
async function v1Hierarchies(): Promise<V1Hierarchy[]> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const hierarchies: V1Hierarchy[] = [];
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const [fsType, , superOptions = ''] = after.split(' ');
    if (fsType !== 'cgroup') continue;
    const mountPoint = before.split(' ')[4];
    if (mountPoint) hierarchies.push({ mountPoint, controllers: superOptions.split(',') });
  }
  return hierarchies;
}

class CgroupV1Driver implements CgroupDriver {
  readonly version = 1;
  private hierarchies: Promise<V1Hierarchy[]> | undefined;

  constructor(private readonly parentName: string) {}

  private async mountOf(controller: string): Promise<string> {
    this.hierarchies ??= v1Hierarchies();
    const found = (await this.hierarchies).find((hierarchy) => hierarchy.controllers.includes(controller));
    if (!found) throw new CgroupSetupError(`no cgroup v1 hierarchy has the ${controller} controller mounted`);
    return found.mountPoint;
  }

  async create(name: string, limits: StepLimits): Promise<StepCgroup> {
    const relative = `${this.parentName}/${name}`;
    const dirOf = async (controller: string) => join(await this.mountOf(controller), relative);
    const [memoryDir, pidsDir, cpuDir, cpuacctDir] = (await Promise.all(
      ['memory', 'pids', 'cpu', 'cpuacct'].map(dirOf),
    )) as [string, string, string, string];
    for (const dir of new Set([memoryDir, pidsDir, cpuDir, cpuacctDir])) await mkdir(dir, { recursive: true });
    const memory = String(limits.memoryMiB * MiB);
    await writeFile(join(memoryDir, 'memory.limit_in_bytes'), memory);
    await writeFile(join(memoryDir, 'memory.memsw.limit_in_bytes'), memory).catch(() => undefined);
    await writeFile(join(pidsDir, 'pids.max'), String(limits.pids));
    await writeFile(join(cpuDir, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
    await writeFile(join(cpuDir, 'cpu.cfs_quota_us'), String(Math.round(limits.cpus * CPU_PERIOD_US)));
    return {
      containerPath: `/${relative}/container`,
      cpuTimeMs: async () => (await readNumber(join(cpuacctDir, 'cpuacct.usage'))) / 1e6,
      memoryLimitHit: async () =>
        (await readNumber(join(memoryDir, 'memory.max_usage_in_bytes'))) >= Number(memory) - LIMIT_SLACK_BYTES,
      pidsLimitReached: async () => (await readNumber(join(pidsDir, 'pids.peak'))) >= limits.pids,
      remove: async () => {
        // The runtime joins every mounted hierarchy, so the parent exists in each of them.
        this.hierarchies ??= v1Hierarchies();
        for (const hierarchy of await this.hierarchies) {
          await removeTree(join(hierarchy.mountPoint, relative));
        }
      },
    };
  }
}
