import assert from 'node:assert/strict';
import { Mounter } from '../../sandbox/mounter.js';

describe('Mounter', () => {
  it('should refuse a target or options that would split its command line', async () => {
    const mounter = new Mounter();
    try {
      await assert.rejects(mounter.mount('/run/sandpod/a b', 'size=1m'), /refused to mount/);
      await assert.rejects(mounter.mount('/run/sandpod/a', 'size=1m\numount /'), /refused to mount/);
      await assert.rejects(mounter.unmount('/run/sandpod/x\n'), /refused to umount/);
    } finally {
      mounter.close();
    }
  });

  it('should report the failure of a command with its message when the target does not exist', async () => {
    const mounter = new Mounter();
    try {
      await assert.rejects(mounter.unmount('/run/sandpod-no-such-mount-point'), /umount .* failed: .+/);
    } finally {
      mounter.close();
    }
  });
});
