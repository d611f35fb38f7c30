import type { Limits } from '../../contract/index.js';

// What a sandboxed step gets from the cgroup it runs below, whichever cgroup version the host has.

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
