import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { CgroupDriver, StepCgroup, StepLimits } from './driver.js';
import type { Layout } from './layout.js';

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

interface Slot {
  relative: string;
  limits?: StepLimits;
}

export class SlotPool implements CgroupDriver {
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
    const orphans = (await this.layout.slotNames()).filter((name) => {
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
