import type { StepLimits } from './driver.js';

export const MiB = 1024 * 1024;
export const CPU_PERIOD_US = 100_000;

/** What a slot's counters read when its step began. */
export interface Baseline {
  cpuUs: number;
  oomKills: number;
  /** Reads the step's memory high-water mark; closes what it holds when the step is released. */
  peak: PeakReader;
}

export interface PeakReader {
  bytes(): number;
  close(): void;
  /** Whether the slot can serve another step with a correct peak (v2 kernels before 6.12 cannot reset it). */
  reusable: boolean;
}

/** One cgroup layout (v1 or v2): how a slot is made, limited, read and emptied. */
export interface Layout {
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
  slotNames(): Promise<string[]>;
}
