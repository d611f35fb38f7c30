import assert from 'node:assert/strict';
import { fullBucket, takeToken } from '../../kube/token-bucket.js';

describe('takeToken', () => {
  const policy = { ratePerSecond: 2, burst: 3 };

  it('should grant a burst of tokens when the bucket is full', () => {
    let bucket = fullBucket(policy, 0);
    const waits: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const taken = takeToken(bucket, policy, 0);
      bucket = taken.bucket;
      waits.push(taken.retryAfterMs);
    }

    assert.deepEqual(waits, [0, 0, 0]);
  });

  it('should refuse with the time until the next token when the bucket is empty', () => {
    const empty = { tokens: 0, updatedAtMs: 1_000 };

    const taken = takeToken(empty, policy, 1_000);

    assert.equal(taken.retryAfterMs, 500);
    assert.equal(taken.bucket.tokens, 0);
  });

  it('should grant again when enough time has passed', () => {
    const empty = { tokens: 0, updatedAtMs: 1_000 };

    const taken = takeToken(empty, policy, 1_500);

    assert.equal(taken.retryAfterMs, 0);
    assert.equal(taken.bucket.tokens, 0);
  });

  it('should never hold more than the burst when idle for long', () => {
    const taken = takeToken({ tokens: 0, updatedAtMs: 0 }, policy, 3_600_000);

    assert.equal(taken.bucket.tokens, policy.burst - 1);
  });

  it('should not refill when the clock goes backwards', () => {
    const taken = takeToken({ tokens: 0.5, updatedAtMs: 10_000 }, policy, 5_000);

    assert.equal(taken.retryAfterMs, 250);
    assert.equal(taken.bucket.tokens, 0.5);
  });
});
