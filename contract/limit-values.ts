// The limits' names, bounds and defaults, free of any validation library so that the web page
// can share them. Every limit's unit is in its name.

/** Hard bounds no configuration may exceed; they keep one request from asking for the machine. */
export const ABSOLUTE_LIMIT_BOUNDS = {
  wallTimeMs: 3_600_000,
  cpuTimeMs: 3_600_000,
  memoryMiB: 65_536,
  pids: 4_096,
  outputBytes: 64 * 1024 * 1024,
  diskMiB: 65_536,
} as const;

export const LIMIT_NAMES = Object.keys(ABSOLUTE_LIMIT_BOUNDS) as (keyof typeof ABSOLUTE_LIMIT_BOUNDS)[];
export type LimitName = (typeof LIMIT_NAMES)[number];

export type Limits = Record<LimitName, number>;
export type RequestedLimits = Partial<Limits>;

/** A tenant's limits: what a request gets when it names none, and the most it may ask for. */
export interface LimitPolicyValues {
  defaults: Limits;
  maxima: Limits;
}

export const DEFAULT_LIMITS: Limits = {
  wallTimeMs: 10_000,
  cpuTimeMs: 5_000,
  memoryMiB: 256,
  pids: 64,
  outputBytes: 1024 * 1024,
  diskMiB: 64,
};

export const DEFAULT_MAX_LIMITS: Limits = {
  wallTimeMs: 120_000,
  cpuTimeMs: 30_000,
  memoryMiB: 1024,
  pids: 256,
  outputBytes: 8 * 1024 * 1024,
  diskMiB: 512,
};

/** Limits of the compile step: compilers get their own budget, separate from the program's. */
export const DEFAULT_COMPILE_LIMITS: Limits = {
  wallTimeMs: 20_000,
  cpuTimeMs: 15_000,
  memoryMiB: 512,
  pids: 64,
  outputBytes: 64 * 1024,
  diskMiB: 256,
};
