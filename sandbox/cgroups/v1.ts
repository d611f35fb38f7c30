import { existsSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CgroupSetupError, type StepLimits } from './driver.js';
import { hasChildren, killProcessesBelow, readNumber, removeChildren, removeTree, subdirectories } from './files.js';
import { type Baseline, CPU_PERIOD_US, type Layout, MiB } from './layout.js';

// cgroup v1 (and the hybrid layout with an empty v2 beside it): a directory per controller
// hierarchy, and no hierarchical OOM count, so the memory high-water mark stands in for it.

/** A few pages: the high-water mark stops just short of the limit when the last charge fails. */
const LIMIT_SLACK_BYTES = 256 * 1024;

interface V1Hierarchy {
  mountPoint: string;
  controllers: string[];
}

/**
 * v1 hierarchies from /proc/self/mountinfo, named by their controllers, and the empty unified
 * hierarchy a hybrid layout mounts beside them: the runtime makes its cgroup there too.
 */
async function v1Hierarchies(): Promise<V1Hierarchy[]> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const hierarchies: V1Hierarchy[] = [];
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const [fsType, , superOptions = ''] = after.split(' ');
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const mountPoint = before.split(' ')[4];
    if (mountPoint) hierarchies.push({ mountPoint, controllers: superOptions.split(',') });
  }
  return hierarchies;
}

export class V1Layout implements Layout {
  readonly version = 1;
  private hierarchies: Promise<V1Hierarchy[]> | undefined;
  /** Mount points of the controllers sandpod limits and reads, found when the first slot is made. */
  private mounts: Record<'memory' | 'pids' | 'cpu' | 'cpuacct', string> | undefined;
  private swapAccounting: boolean | undefined;

  constructor(readonly parentName: string) {}

  private allHierarchies(): Promise<V1Hierarchy[]> {
    this.hierarchies ??= v1Hierarchies();
    return this.hierarchies;
  }

  private async findMounts(): Promise<void> {
    if (this.mounts) return;
    const hierarchies = await this.allHierarchies();
    const mountOf = (controller: string) => {
      const found = hierarchies.find((hierarchy) => hierarchy.controllers.includes(controller));
      if (!found) throw new CgroupSetupError(`no cgroup v1 hierarchy has the ${controller} controller mounted`);
      return found.mountPoint;
    };
    this.mounts = {
      memory: mountOf('memory'),
      pids: mountOf('pids'),
      cpu: mountOf('cpu'),
      cpuacct: mountOf('cpuacct'),
    };
  }

  private dirs(relative: string) {
    const mounts = this.mounts;
    if (!mounts) throw new Error('no slot has been made yet');
    return {
      memory: join(mounts.memory, relative),
      pids: join(mounts.pids, relative),
      cpu: join(mounts.cpu, relative),
      cpuacct: join(mounts.cpuacct, relative),
    };
  }

  async makeSlot(relative: string): Promise<void> {
    await this.findMounts();
    const dirs = this.dirs(relative);
    await Promise.all([...new Set(Object.values(dirs))].map((dir) => mkdir(dir, { recursive: true })));
    await writeFile(join(dirs.cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
  }

  limitWrites(relative: string, limits: StepLimits, previous: StepLimits | undefined) {
    const dirs = this.dirs(relative);
    const writes: [string, string][] = [];
    if (limits.memoryMiB !== previous?.memoryMiB) {
      const memory: [string, string] = [join(dirs.memory, 'memory.limit_in_bytes'), String(limits.memoryMiB * MiB)];
      // No swap: memory and swap together get the same limit, which may never be below the memory
      // limit, so it moves first when the limit rises and last when it falls.
      const withSwap: [string, string] = [join(dirs.memory, 'memory.memsw.limit_in_bytes'), memory[1]];
      this.swapAccounting ??= existsSync(withSwap[0]);
      const hasSwapAccounting = this.swapAccounting;
      const rising = previous !== undefined && limits.memoryMiB > previous.memoryMiB;
      if (!hasSwapAccounting) writes.push(memory);
      else writes.push(...(rising ? [withSwap, memory] : [memory, withSwap]));
    }
    if (limits.pids !== previous?.pids) writes.push([join(dirs.pids, 'pids.max'), String(limits.pids)]);
    if (limits.cpus !== previous?.cpus) {
      writes.push([join(dirs.cpu, 'cpu.cfs_quota_us'), String(Math.round(limits.cpus * CPU_PERIOD_US))]);
    }
    return writes;
  }

  startStep(relative: string): Baseline {
    // Resets the high-water mark to what the slot holds now, so it tells of this step alone.
    const maxUsage = join(this.dirs(relative).memory, 'memory.max_usage_in_bytes');
    writeFileSync(maxUsage, '0');
    return {
      cpuUs: this.cpuUs(relative),
      oomKills: 0,
      peak: { bytes: () => readNumber(maxUsage), close: () => undefined, reusable: true },
    };
  }

  pidsPeak(relative: string): number {
    return readNumber(join(this.dirs(relative).pids, 'pids.peak'));
  }

  cpuUs(relative: string): number {
    return readNumber(join(this.dirs(relative).cpuacct, 'cpuacct.usage')) / 1000;
  }

  memoryLimitHit(relative: string, limits: StepLimits): boolean {
    const peak = readNumber(join(this.dirs(relative).memory, 'memory.max_usage_in_bytes'));
    return peak >= limits.memoryMiB * MiB - LIMIT_SLACK_BYTES;
  }

  hasLeftovers(relative: string): boolean {
    // A runtime that ran its container to the end removed its cgroup from every hierarchy at once.
    return hasChildren(this.dirs(relative).pids);
  }

  async empty(relative: string): Promise<void> {
    // The runtime joins every mounted hierarchy, so its leftovers may be in each of them.
    for (const hierarchy of await this.allHierarchies()) {
      const dir = join(hierarchy.mountPoint, relative);
      await killProcessesBelow(dir);
      await removeChildren(dir);
    }
  }

  async removeSlot(relative: string): Promise<void> {
    for (const hierarchy of await this.allHierarchies()) await removeTree(join(hierarchy.mountPoint, relative));
  }

  async slotNames(): Promise<string[]> {
    // Every slot has a directory in the pids hierarchy: it is made there before any step runs.
    // Found here too: a gateway starting looks for the slots of dead ones before making its own.
    await this.findMounts();
    return subdirectories(this.dirs(this.parentName).pids);
  }
}
