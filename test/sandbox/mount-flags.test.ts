import assert from 'node:assert/strict';
import { recursiveMountFlags } from '../../sandbox/mount-flags.js';

describe('recursiveMountFlags', () => {
  it('should use the recursive flags when runc is 1.1 or newer on a kernel from 5.12', () => {
    assert.deepEqual(recursiveMountFlags('runc', 'runc version 1.1.5+ds1\ncommit: x\n', '6.18.44-fc'), {
      supported: true,
    });
    assert.equal(recursiveMountFlags('runc', 'runc version 1.2.0\n', '5.12.0').supported, true);
  });

  it('should say why not when runc or the kernel is older, or the runtime is runsc', () => {
    for (const [runtime, version, kernel, reason] of [
      ['runc', 'runc version 1.0.3\n', '6.1.0', /older than 1.1/],
      ['runc', 'runc version 1.1.5\n', '5.10.0-28-amd64', /older than 5.12/],
      ['runc', 'something else\n', '6.1.0', /unknown version/],
      ['runsc', 'runsc version release-20260905.0\n', '6.1.0', /read-only mount of its own kernel/],
    ] as const) {
      const flags = recursiveMountFlags(runtime, version, kernel);
      assert.equal(flags.supported, false, version);
      assert.match(flags.reason ?? '', reason);
    }
  });
});
