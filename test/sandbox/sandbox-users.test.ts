import assert from 'node:assert/strict';
import { SandboxUsers } from '../../sandbox/sandbox-users.js';

describe('SandboxUsers', () => {
  it('should give every running execution a different user when several take one', () => {
    const users = new SandboxUsers(2000, 3);
    const taken = [users.acquire(), users.acquire(), users.acquire()];
    assert.deepEqual([...taken].sort(), [2000, 2001, 2002]);
    assert.throws(() => users.acquire(), /all 3 sandbox users are taken/);
  });

  it('should hand a user out again once it is released, and only once when released twice', () => {
    const users = new SandboxUsers(2000, 2);
    const first = users.acquire();
    users.acquire();
    users.release(first);
    users.release(first);
    assert.equal(users.acquire(), first);
    assert.throws(() => users.acquire());
  });

  it('should ignore a user outside its range when one is released', () => {
    const users = new SandboxUsers(2000, 1);
    users.acquire();
    users.release(65534);
    assert.throws(() => users.acquire());
  });
});
