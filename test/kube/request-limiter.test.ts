import assert from 'node:assert/strict';
import { isLongRunning, RequestLimiter } from '../../kube/request-limiter.js';

// The limiter on a clock of the test's own: waiting advances it, so the figures are exact.

function limiterOnFakeClock(qps: number, burst: number) {
  let nowMs = 0;
  const waits: number[] = [];
  const limiter = new RequestLimiter({
    ratePerSecond: qps,
    burst,
    now: () => nowMs,
    wait: async (ms) => {
      nowMs += ms;
    },
    onWaited: (ms) => waits.push(ms),
  });
  return {
    limiter,
    waits,
    at: () => nowMs,
    advance: (ms: number) => {
      nowMs += ms;
    },
  };
}

describe('RequestLimiter (kube/request-limiter.ts)', () => {
  it('should let a burst through without waiting', async () => {
    const { limiter, waits, at } = limiterOnFakeClock(10, 3);

    await Promise.all([limiter.acquire(), limiter.acquire(), limiter.acquire()]);

    assert.deepEqual(waits, [0, 0, 0]);
    assert.equal(at(), 0);
  });

  it('should space the requests past the burst at the rate, in the order they asked', async () => {
    const { limiter, waits, at } = limiterOnFakeClock(10, 2);
    const order: number[] = [];

    await Promise.all([0, 1, 2, 3, 4].map((n) => limiter.acquire().then(() => order.push(n))));

    assert.deepEqual(order, [0, 1, 2, 3, 4]);
    // Two from the burst, then one every 100 ms; each wait counts from when its turn came.
    assert.deepEqual(waits, [0, 0, 100, 100, 100]);
    assert.equal(at(), 300);
  });

  it('should refill while idle, up to the burst and no more', async () => {
    const { limiter, waits, advance } = limiterOnFakeClock(10, 2);
    await Promise.all([limiter.acquire(), limiter.acquire()]);

    advance(60_000);
    await Promise.all([limiter.acquire(), limiter.acquire(), limiter.acquire()]);

    assert.deepEqual(waits, [0, 0, 0, 0, 100]);
  });
});

describe('isLongRunning', () => {
  const cases: [string, boolean][] = [
    ['https://k:6443/api/v1/pods?watch=true&labelSelector=a%3Db', true],
    ['https://k:6443/api/v1/namespaces/x/pods/p/log?follow=true', true],
    ['https://k:6443/api/v1/namespaces/x/pods/p/log?container=run&limitBytes=10', false],
    ['https://k:6443/api/v1/pods?labelSelector=a%3Db', false],
    ['https://k:6443/api/v1/pods?watch=false', false],
  ];
  for (const [url, expected] of cases) {
    it(`should say ${expected} for ${url}`, () => {
      assert.equal(isLongRunning(url), expected);
    });
  }
});
