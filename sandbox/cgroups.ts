import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statfsSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Limits } from '../contract/index.js';

// Each sandboxed step runs below a parent cgroup that sandpod owns; the OCI runtime places its
// container there and removes the container's cgroup when the step ends. The limits sit on the
// parent, so the kernel charges CPU time and counts OOM kills there, and those counters are still
// readable after the runtime has removed its container.
//
// Parents are slots, kept and reused: making and removing a parent per step doubled the cgroup
// work the runtime does anyway (on cgroup v1 a directory in every hierarchy, made and removed
// again), for nothing a reused parent cannot give. A slot holds one step at a time; before a step
// its changed limits are written and its counters read as the baseline the step's are measured
// from; after it, whatever the runtime left below is killed and removed.
// cgroup v2 is the primary target; v1 (and the hybrid layout with an empty v2 beside it) works too.

const CGROUP2_SUPER_MAGIC = 0x63677270;
const CGROUP_ROOT = '/sys/fs/cgroup';
const MiB = 1024 * 1024;
const CPU_PERIOD_US = 100_000;
/** A few pages: the high-water mark stops just short of the limit when the last charge fails. */
const LIMIT_SLACK_BYTES = 256 * 1024;

export type StepLimits = Pick<Limits, 'memoryMiB' | 'pids'> & { cpus: number };

export interface StepCgroup {
  /** cgroupsPath for the OCI spec: the container's cgroup, below the slot. */
  readonly containerPath: string;
  /** CPU time of every process and thread the step ran. */
  cpuTimeMs(): Promise<number>;
  /**
   * Whether the step ran into its memory limit: OOM kills under the slot on v2, where the count
   * is hierarchical; on v1 the kill is counted only in the runtime's own (removed) cgroup, so the
   * slot's high-water mark, reset for the step, reaching the limit stands in for it.
   */
  memoryLimitHit(): Promise<boolean>;
  /** The most memory the step had charged at once: its high-water mark, reset for the step. */
  memoryPeakBytes(): Promise<number>;
  /**
   * Whether the step's tasks reached the pids limit. The peak is read, not the count of refused
   * forks: on v1 (and v2 before Linux 6.13) that count stays in the runtime's removed cgroup.
   * A peak cannot be reset, so a slot is only given to a step whose limit its peak is below.
   */
  pidsLimitReached(): Promise<boolean>;
  /** Kills and removes whatever the runtime left below the slot, and hands the slot back. */
  release(): Promise<void>;
}

export interface CgroupDriver {
  readonly version: 1 | 2;
  /**
   * Kills and removes the slots of gateways that died without closing (slots are named after
   * the process that made them); the slots of live processes are never touched.
   */
  removeOrphans(): Promise<number>;
  /** A slot with the limits written, for the step named `name`. */
  acquire(name: string, limits: StepLimits): Promise<StepCgroup>;
  /** Removes every slot; for when nothing runs any more. */
  close(): Promise<void>;
}

export class CgroupSetupError extends Error {
  override name = 'CgroupSetupError';
}

export function detectCgroupDriver(parentName = 'sandpod'): CgroupDriver {
  const fsType = statfsSync(CGROUP_ROOT).type;
  return fsType === CGROUP2_SUPER_MAGIC
    ? new SlotPool(new V2Layout(parentName))
    : new SlotPool(new V1Layout(parentName));
}

/** The v2 driver over any directory laid out like the unified hierarchy. */
export function cgroupV2Driver(parentName: string, root: string): CgroupDriver {
  return new SlotPool(new V2Layout(parentName, root));
}

// Counters are read and reset directly: a cgroup file answers in microseconds, and the thread
// pool's round trips put a millisecond on the path of every run. Limits are written through the
// pool, since lowering a memory limit may make the kernel reclaim first.

/** A number file such as pids.peak; 0 when the kernel has no such file (older kernels). */
function readNumber(path: string): number {
  try {
    return Number(readFileSync(path, 'utf8').trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

/** The value of `key` in a flat-keyed file such as memory.events or cpu.stat. */
function readKeyed(path: string, key: string): number {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const line = text.split('\n').find((entry) => entry.startsWith(`${key} `));
  return line ? Number(line.slice(key.length + 1)) : 0;
}

/**
 * memory.peak of a v2 cgroup, for one step. Since Linux 6.12 a write to an open memory.peak resets
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
  await removeChildren(dir);
  await removeWithRetry(dir, () => killProcessesBelow(dir));
}

async function removeChildren(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory()) await removeTree(join(dir, entry.name));
  }
}

function hasChildren(dir: string): boolean {
  try {
    return readdirSync(dir, { withFileTypes: true }).some((entry) => entry.isDirectory());
  } catch {
    return false;
  }
}

/** `<pid of the gateway>-<random>-<index>`. */
const SLOT_NAME = /^(\d+)-[0-9a-f]{8}-\d+$/;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Names of the directories below `dir`, none if it does not exist. */
function subdirectories(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

/** What a slot's counters read when its step began. */
interface Baseline {
  cpuUs: number;
  oomKills: number;
  /** Reads the step's memory high-water mark; closes what it holds when the step is released. */
  peak: PeakReader;
}

interface PeakReader {
  bytes(): number;
  close(): void;
  /** Whether the slot can serve another step with a correct peak (v2 kernels before 6.12 cannot reset it). */
  reusable: boolean;
}

/** One cgroup layout (v1 or v2): how a slot is made, limited, read and emptied. */
interface Layout {
  readonly version: 1 | 2;
  /** The cgroup below the root that holds every slot. */
  readonly parentName: string;
  /** Makes the slot's directories, with what never changes between steps. */
  makeSlot(relative: string): Promise<void>;
  /** Files to write, in order, for these limits. `previous` are the limits written last, if any. */
  limitWrites(relative: string, limits: StepLimits, previous: StepLimits | undefined): [string, string][];
  /** Readies the slot's counters for a step and reads the baseline its figures start from. */
  startStep(relative: string): Baseline;
  pidsPeak(relative: string): number;
  cpuUs(relative: string): number;
  memoryLimitHit(relative: string, limits: StepLimits, baseline: Baseline): boolean;
  /** Whether the runtime left cgroups (and so perhaps processes) below the slot. */
  hasLeftovers(relative: string): boolean;
  /** Kills what runs below the slot and removes the runtime's cgroups there, keeping the slot. */
  empty(relative: string): Promise<void>;
  removeSlot(relative: string): Promise<void>;
  /** Names of the slots below the parent, of every driver on the machine. */
  slotNames(): string[];
}

interface Slot {
  relative: string;
  limits?: StepLimits;
}

class SlotPool implements CgroupDriver {
  readonly version: 1 | 2;
  private readonly idle: Slot[] = [];
  private readonly all = new Set<Slot>();
  /** Slot names of this driver alone: gateways and tests on one machine never share a slot. */
  private readonly token = `${process.pid}-${randomBytes(4).toString('hex')}`;
  private made = 0;

  constructor(private readonly layout: Layout) {
    this.version = layout.version;
  }

  async acquire(name: string, limits: StepLimits): Promise<StepCgroup> {
    const reused = this.idle.pop();
    if (reused) {
      try {
        return await this.prepare(reused, name, limits);
      } catch {
        // A slot that cannot take these limits (memory in use above a lower limit, a peak at the
        // pids limit) is retired and the step gets a fresh one. Nothing runs in a released slot, so
        // one that cannot be removed now is only an empty directory; close() tries again.
        await this.retire(reused).catch(() => this.all.add(reused));
      }
    }
    const slot: Slot = { relative: `${this.layout.parentName}/${this.token}-${this.made++}` };
    this.all.add(slot);
    try {
      await this.layout.makeSlot(slot.relative);
      return await this.prepare(slot, name, limits);
    } catch (error) {
      await this.retire(slot).catch(() => undefined);
      throw error;
    }
  }

  async removeOrphans(): Promise<number> {
    const orphans = this.layout.slotNames().filter((name) => {
      const owner = SLOT_NAME.exec(name)?.[1];
      return owner !== undefined && !isAlive(Number(owner));
    });
    for (const name of orphans) await this.layout.removeSlot(`${this.layout.parentName}/${name}`);
    return orphans.length;
  }

  async close(): Promise<void> {
    this.idle.splice(0);
    const removals = await Promise.allSettled([...this.all].map((slot) => this.retire(slot)));
    const failed = removals.find((removal) => removal.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async prepare(slot: Slot, name: string, limits: StepLimits): Promise<StepCgroup> {
    const { layout } = this;
    const { relative } = slot;
    if (layout.pidsPeak(relative) >= limits.pids) throw new Error('the slot has reached this pids limit');
    // Forgotten first: a write that fails half-way leaves limits that must all be written again.
    const previous = slot.limits;
    slot.limits = undefined;
    for (const [file, value] of layout.limitWrites(relative, limits, previous)) await writeFile(file, value);
    slot.limits = limits;
    const baseline = layout.startStep(relative);
    let released = false;
    return {
      containerPath: `/${relative}/${name}`,
      cpuTimeMs: async () => (layout.cpuUs(relative) - baseline.cpuUs) / 1000,
      memoryLimitHit: async () => layout.memoryLimitHit(relative, limits, baseline),
      memoryPeakBytes: async () => baseline.peak.bytes(),
      pidsLimitReached: async () => layout.pidsPeak(relative) >= limits.pids,
      release: async () => {
        if (released) return;
        released = true;
        baseline.peak.close();
        try {
          if (!baseline.peak.reusable) {
            await this.retire(slot);
            return;
          }
          if (layout.hasLeftovers(relative)) await layout.empty(relative);
          this.idle.push(slot);
        } catch (error) {
          await this.retire(slot).catch(() => undefined);
          throw error;
        }
      },
    };
  }

  private async retire(slot: Slot): Promise<void> {
    this.all.delete(slot);
    await this.layout.removeSlot(slot.relative);
  }
}

class V2Layout implements Layout {
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

  slotNames(): string[] {
    return subdirectories(this.dir(this.parentName));
  }
}

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

class V1Layout implements Layout {
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

  slotNames(): string[] {
    // Every slot has a directory in the pids hierarchy: it is made there before any step runs.
    return this.mounts ? subdirectories(join(this.mounts.pids, this.parentName)) : [];
  }
}
