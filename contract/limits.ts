import { z } from 'zod';
import {
  ABSOLUTE_LIMIT_BOUNDS,
  DEFAULT_LIMITS,
  DEFAULT_MAX_LIMITS,
  LIMIT_NAMES,
  type LimitPolicyValues,
  type Limits,
  type RequestedLimits,
} from './limit-values.js';

export * from './limit-values.js';

// Every limit's unit is in its name. Requests may leave any of them out: the tenant's defaults
// fill the gaps, and a value above the tenant's maximum is rejected, never lowered.

const positiveInt = (max: number) => z.int().positive().max(max);

export const limitsSchema = z.strictObject({
  wallTimeMs: positiveInt(ABSOLUTE_LIMIT_BOUNDS.wallTimeMs),
  cpuTimeMs: positiveInt(ABSOLUTE_LIMIT_BOUNDS.cpuTimeMs),
  memoryMiB: positiveInt(ABSOLUTE_LIMIT_BOUNDS.memoryMiB),
  pids: positiveInt(ABSOLUTE_LIMIT_BOUNDS.pids),
  outputBytes: positiveInt(ABSOLUTE_LIMIT_BOUNDS.outputBytes),
  diskMiB: positiveInt(ABSOLUTE_LIMIT_BOUNDS.diskMiB),
});

export const requestedLimitsSchema = limitsSchema.partial();

// The schemas and the plain types the web page shares must describe the same objects.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
void (true satisfies Same<z.infer<typeof limitsSchema>, Limits>);
void (true satisfies Same<z.infer<typeof requestedLimitsSchema>, RequestedLimits>);

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
void (true satisfies Same<LimitPolicy, LimitPolicyValues>);

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
