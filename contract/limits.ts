import { z } from 'zod';

// Every limit's unit is in its name. Requests may leave any of them out: the tenant's defaults
// fill the gaps, and a value above the tenant's maximum is rejected, never lowered.

const positiveInt = (max: number) => z.int().positive().max(max);

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

export const limitsSchema = z.strictObject({
  wallTimeMs: positiveInt(ABSOLUTE_LIMIT_BOUNDS.wallTimeMs),
  cpuTimeMs: positiveInt(ABSOLUTE_LIMIT_BOUNDS.cpuTimeMs),
  memoryMiB: positiveInt(ABSOLUTE_LIMIT_BOUNDS.memoryMiB),
  pids: positiveInt(ABSOLUTE_LIMIT_BOUNDS.pids),
  outputBytes: positiveInt(ABSOLUTE_LIMIT_BOUNDS.outputBytes),
  diskMiB: positiveInt(ABSOLUTE_LIMIT_BOUNDS.diskMiB),
});
export type Limits = z.infer<typeof limitsSchema>;

export const requestedLimitsSchema = limitsSchema.partial();
export type RequestedLimits = z.infer<typeof requestedLimitsSchema>;

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

export const limitPolicySchema = z
  .strictObject({
    defaults: limitsSchema.default(DEFAULT_LIMITS),
    maxima: limitsSchema.default(DEFAULT_MAX_LIMITS),
  })
  .refine((policy) => LIMIT_NAMES.every((name) => policy.defaults[name] <= policy.maxima[name]), {
    message: 'every default must be at most its maximum',
    path: ['defaults'],
  });
export type LimitPolicy = z.infer<typeof limitPolicySchema>;

export const DEFAULT_LIMIT_POLICY: LimitPolicy = { defaults: DEFAULT_LIMITS, maxima: DEFAULT_MAX_LIMITS };

export interface LimitViolation {
  field: string;
  message: string;
}

/** Fills the gaps from the defaults, or names the first limit above the maximum. */
export function resolveLimits(
  requested: RequestedLimits | undefined,
  policy: LimitPolicy,
): { limits: Limits } | { violation: LimitViolation } {
  const limits = { ...policy.defaults };
  for (const name of LIMIT_NAMES) {
    const value = requested?.[name];
    if (value === undefined) continue;
    if (value > policy.maxima[name]) {
      return {
        violation: {
          field: `limits.${name}`,
          message: `${name} ${value} is above this tenant's maximum of ${policy.maxima[name]}`,
        },
      };
    }
    limits[name] = value;
  }
  return { limits };
}
