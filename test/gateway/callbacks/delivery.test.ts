import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  attemptsWithinWindow,
  callbackHostAllowed,
  DELIVERY_WINDOW_MS,
  type Delivery,
  nextAttemptAt,
  signature,
} from '../../../gateway/callbacks/delivery.js';

const delivery = (attempts: number): Delivery => ({
  id: 'ex-1',
  tenant: 'alpha',
  url: 'http://127.0.0.1:1/',
  body: '{}',
  firstAttemptAt: 1_000_000,
  attempts,
});

describe('callback delivery', () => {
  it('should sign the body with HMAC-SHA256 of the secret as sha256=<hex>', () => {
    const expected = createHmac('sha256', 'secret').update('{"a":1}').digest('hex');
    assert.equal(signature('{"a":1}', 'secret'), `sha256=${expected}`);
  });

  it('should double the wait after each failed attempt up to a minute', () => {
    const now = 1_000_000;
    assert.equal(nextAttemptAt(delivery(1), now, 1000), now + 1000);
    assert.equal(nextAttemptAt(delivery(2), now, 1000), now + 2000);
    assert.equal(nextAttemptAt(delivery(4), now, 1000), now + 8000);
    assert.equal(nextAttemptAt(delivery(12), now, 1000), now + 60_000);
  });

  it('should give up when the next attempt would be more than 10 minutes after the first', () => {
    const late = 1_000_000 + DELIVERY_WINDOW_MS - 500;
    assert.equal(nextAttemptAt(delivery(3), late, 1000), null);
  });

  it('should count the attempts that fit in the window when every one fails', () => {
    // At 0, 1, 3, 7, 15, 31 and 63 s, then every minute up to 543 s: 603 s would be past 10 minutes.
    assert.equal(attemptsWithinWindow(1000), 15);
    // However long the first wait is asked to be, none is longer than a minute: 0, 60, ... 600 s.
    assert.equal(attemptsWithinWindow(DELIVERY_WINDOW_MS), 11);
  });

  it('should allow a host by name or by name and port, in any case, and nothing else', () => {
    assert.equal(callbackHostAllowed(new URL('http://Hooks.Example:8080/x'), ['hooks.example']), true);
    assert.equal(callbackHostAllowed(new URL('http://127.0.0.1:9000/x'), ['127.0.0.1:9000']), true);
    assert.equal(callbackHostAllowed(new URL('http://127.0.0.1:9001/x'), ['127.0.0.1:9000']), false);
    assert.equal(callbackHostAllowed(new URL('http://evil.example/x'), ['hooks.example']), false);
    assert.equal(callbackHostAllowed(new URL('http://hooks.example.evil.example/'), ['hooks.example']), false);
    assert.equal(callbackHostAllowed(new URL('http://hooks.example/'), []), false);
  });
});
