import type { Limits } from '../../contract/index.js';

// Under emulation (test/cgroup2/run.sh boots a guest without KVM) a CPU second of the program's
// work takes many seconds of the machine's, so the guest sets SANDPOD_TEST_TIME_SCALE and every
// time limit a sandbox test asks for, and every bound on how long a run may take, is multiplied by
// it. Reasons are asserted as they are: a program ends at the same limit, only later.

export const timeScale = parseScale(process.env.SANDPOD_TEST_TIME_SCALE);

function parseScale(text: string | undefined): number {
  if (text === undefined || text === '') return 1;
  const scale = Number(text);
  if (!Number.isFinite(scale) || scale < 1)
    throw new Error(`SANDPOD_TEST_TIME_SCALE must be a number >= 1, not ${text}`);
  return scale;
}

export function scaledTimes(limits: Limits): Limits {
  return { ...limits, wallTimeMs: limits.wallTimeMs * timeScale, cpuTimeMs: limits.cpuTimeMs * timeScale };
}
