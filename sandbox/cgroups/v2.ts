import { closeSync, existsSync, openSync, readSync, writeSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CgroupSetupError, type StepLimits } from './driver.js';
import {
  hasChildren,
  killProcessesBelow,
  readKeyed,
  readNumber,
  removeChildren,
  removeTree,
  subdirectories,
} from './files.js';
import { type Baseline, CPU_PERIOD_US, type Layout, MiB, type PeakReader } from './layout.js';

// cgroup v2, the primary target: one unified hierarchy, the limits on the slot, an OOM kill
// counted hierarchically in memory.events.

export const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * memory.peak of a slot, for one step. Since Linux 6.12 a write to an open memory.peak resets
 * the mark that this open file reads; on older kernels the mark is the slot's whole life, so the
 * slot is used for this step alone and then removed.
 */
function resettablePeak(path: string): PeakReader {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r+');
    writeSync(fd, 'reset\n');
  } catch {
    if (fd !== undefined) closeSync(fd);
    // Without the file at all (before Linux 5.19) there is no peak to keep correct.
    return { bytes: () => readNumber(path), close: () => undefined, reusable: !existsSync(path) };
  }
  const open = fd;
  let closed = false;
  return {
    bytes: () => {
      const buffer = Buffer.alloc(64);
      const length = readSync(open, buffer, 0, buffer.length, 0);
      return Number(buffer.subarray(0, length).toString('utf8').trim());
    },
    close: () => {
      if (closed) return;
      closed = true;
      closeSync(open);
    },
    reusable: true,
  };
}

export class V2Layout implements Layout {
  readonly version = 2;
  private delegated = false;

  constructor(
    readonly parentName: string,
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

  private dir(relative: string): string {
    return join(this.root, relative);
  }

  async makeSlot(relative: string): Promise<void> {
    await this.delegateControllers();
    await mkdir(this.dir(relative));
    await writeFile(join(this.dir(relative), 'memory.swap.max'), '0').catch(() => undefined);
    await writeFile(join(this.dir(relative), 'cgroup.subtree_control'), '+cpu +memory +pids');
  }

  limitWrites(relative: string, limits: StepLimits, previous: StepLimits | undefined) {
    const dir = this.dir(relative);
    const writes: [string, string][] = [];
    if (limits.memoryMiB !== previous?.memoryMiB)
      writes.push([join(dir, 'memory.max'), String(limits.memoryMiB * MiB)]);
    if (limits.pids !== previous?.pids) writes.push([join(dir, 'pids.max'), String(limits.pids)]);
    if (limits.cpus !== previous?.cpus) {
      writes.push([join(dir, 'cpu.max'), `${Math.round(limits.cpus * CPU_PERIOD_US)} ${CPU_PERIOD_US}`]);
    }
    return writes;
  }

  startStep(relative: string): Baseline {
    return {
      cpuUs: this.cpuUs(relative),
      oomKills: readKeyed(join(this.dir(relative), 'memory.events'), 'oom_kill'),
      peak: resettablePeak(join(this.dir(relative), 'memory.peak')),
    };
  }

  pidsPeak(relative: string): number {
    return readNumber(join(this.dir(relative), 'pids.peak'));
  }

  cpuUs(relative: string): number {
    return readKeyed(join(this.dir(relative), 'cpu.stat'), 'usage_usec');
  }

  memoryLimitHit(relative: string, _limits: StepLimits, baseline: Baseline): boolean {
    return readKeyed(join(this.dir(relative), 'memory.events'), 'oom_kill') > baseline.oomKills;
  }

  hasLeftovers(relative: string): boolean {
    return hasChildren(this.dir(relative));
  }

  async empty(relative: string): Promise<void> {
    const dir = this.dir(relative);
    await writeFile(join(dir, 'cgroup.kill'), '1', { flag: 'r+' }).catch(() => killProcessesBelow(dir));
    await removeChildren(dir);
  }

  async removeSlot(relative: string): Promise<void> {
    const dir = this.dir(relative);
    await writeFile(join(dir, 'cgroup.kill'), '1', { flag: 'r+' }).catch(() => killProcessesBelow(dir));
    await removeTree(dir);
  }

  async slotNames(): Promise<string[]> {
    return subdirectories(this.dir(this.parentName));
  }
}
