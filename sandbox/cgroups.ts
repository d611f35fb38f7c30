import { statfsSync } from 'node:fs';
import type { CgroupDriver } from './cgroups/driver.js';
import { SlotPool } from './cgroups/slot-pool.js';
import { V1Layout } from './cgroups/v1.js';
import { CGROUP_ROOT, V2Layout } from './cgroups/v2.js';

export { type CgroupDriver, CgroupSetupError, type StepCgroup, type StepLimits } from './cgroups/driver.js';

// The cgroup driver for this host: v2 where /sys/fs/cgroup is the unified hierarchy, v1 otherwise.
// Slots (cgroups/slot-pool.ts) hold the steps; a layout per version (cgroups/v1.ts, cgroups/v2.ts)
// knows its files.

const CGROUP2_SUPER_MAGIC = 0x63677270;

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
