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

/** A runtime's own limits (catalog entry, Runtime object): each may be left out. */
export interface RuntimeLimits {
  defaults?: RequestedLimits;
  maxima?: RequestedLimits;
}

/**
 * What a request for one runtime may get from a policy (a tenant's, or the operator's): the
 * runtime's maximum where it sets one, never above the policy's; the runtime's default where it
 * sets one, never above that maximum. So a JVM may default to more threads than a tenant's default
 * without any tenant getting more than its maximum, and a runtime may keep requests lower.
 */
export function runtimeLimitPolicy(runtime: RuntimeLimits | undefined, policy: LimitPolicy): LimitPolicy {
  const defaults = { ...policy.defaults };
  const maxima = { ...policy.maxima };
  for (const name of LIMIT_NAMES) {
    maxima[name] = Math.min(runtime?.maxima?.[name] ?? policy.maxima[name], policy.maxima[name]);
    defaults[name] = Math.min(runtime?.defaults?.[name] ?? policy.defaults[name], maxima[name]);
  }
  return { defaults, maxima };
}

/**
 * Fills the gaps from the defaults, or names the first limit above the maximum. With `runtime`,
 * the runtime's limits within `policy` (runtimeLimitPolicy), and a refusal says whose maximum it is.
 */
export function resolveLimits(
  requested: RequestedLimits | undefined,
  policy: LimitPolicy,
  runtime?: { name: string; limits?: RuntimeLimits | undefined },
): { limits: Limits } | { violation: LimitViolation } {
  const effective = runtime ? runtimeLimitPolicy(runtime.limits, policy) : policy;
  const limits = { ...effective.defaults };
  for (const name of LIMIT_NAMES) {
    const value = requested?.[name];
    if (value === undefined) continue;
    const maximum = effective.maxima[name];
    if (value > maximum) {
      const whose =
        runtime && maximum < policy.maxima[name] ? `runtime ${runtime.name}'s maximum` : "this tenant's maximum";
      return { violation: { field: `limits.${name}`, message: `${name} ${value} is above ${whose} of ${maximum}` } };
    }
    limits[name] = value;
  }
  return { limits };
}
