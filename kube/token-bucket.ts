// A token bucket as a value: the caller owns the state and the clock, so it is pure and testable.
// The gateway admits tenants with it, and the operator paces its requests to the API server.

export interface RatePolicy {
  ratePerSecond: number;
  burst: number;
}

export interface TokenBucket {
  tokens: number;
  updatedAtMs: number;
}

export function fullBucket(policy: RatePolicy, nowMs: number): TokenBucket {
  return { tokens: policy.burst, updatedAtMs: nowMs };
}

/** Takes one token; `retryAfterMs` is 0 when it was granted, else how long until one is there. */
export function takeToken(
  bucket: TokenBucket,
  policy: RatePolicy,
  nowMs: number,
): { bucket: TokenBucket; retryAfterMs: number } {
  const elapsedMs = Math.max(0, nowMs - bucket.updatedAtMs);
  const tokens = Math.min(policy.burst, bucket.tokens + (elapsedMs / 1000) * policy.ratePerSecond);
  if (tokens >= 1) return { bucket: { tokens: tokens - 1, updatedAtMs: nowMs }, retryAfterMs: 0 };
  const retryAfterMs = Math.ceil(((1 - tokens) / policy.ratePerSecond) * 1000);
  return { bucket: { tokens, updatedAtMs: nowMs }, retryAfterMs };
}
