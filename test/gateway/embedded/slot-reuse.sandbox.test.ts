import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SandboxEnvironment } from '../../../gateway/embedded/execution.js';
import { runToEnd, startEmbedded } from '../../helpers/embedded.js';

// Embedded only: cgroup slots and host scratch mounts are this backend's own (a pod's memory and
// emptyDir go with the pod). A tmpfs page is charged to the cgroup of the step that wrote it and
// stays charged until the tmpfs is unmounted: a slot handed to the next step before then would
// start that step with the last one's files counted against its memory limit.

const mountPoints = async () =>
  (await readFile('/proc/self/mounts', 'utf8')).split('\n').map((line) => line.split(' ')[1] ?? '');

describe('embedded cgroup slots and scratch', function () {
  this.timeout(60_000);

  it("should unmount a compiled program's scratch before its cgroup slots can serve another step", async () => {
    const fixture = await startEmbedded();
    try {
      // The backend's sandbox, watched where it hands out scratch spaces and cgroup slots.
      const sandbox = (fixture.backend as unknown as { sandbox: SandboxEnvironment }).sandbox;
      const scratchMounts: string[] = [];
      const mountedAtSlotRelease: boolean[] = [];
      const acquireScratch = sandbox.scratchPool.acquire.bind(sandbox.scratchPool);
      sandbox.scratchPool.acquire = async (sizeMiB, uid, gid) => {
        const scratch = await acquireScratch(sizeMiB, uid, gid);
        scratchMounts.push(dirname(scratch.work));
        return scratch;
      };
      const acquireSlot = sandbox.cgroups.acquire.bind(sandbox.cgroups);
      sandbox.cgroups.acquire = async (name, limits) => {
        const slot = await acquireSlot(name, limits);
        return {
          ...slot,
          release: async () => {
            const mounted = await mountPoints();
            mountedAtSlotRelease.push(scratchMounts.some((mountPoint) => mounted.includes(mountPoint)));
            return slot.release();
          },
        };
      };

      const result = await runToEnd(fixture.backend, {
        runtime: 'c',
        // 32 MiB of files in /tmp, charged to the run step's slot until the scratch goes.
        source:
          '#include <stdio.h>\n#include <string.h>\nint main(void){static char b[1<<20];memset(b,7,sizeof b);' +
          'FILE*f=fopen("/tmp/fill","w");for(int i=0;i<32;i++)fwrite(b,1,sizeof b,f);fclose(f);puts("filled");}',
        limits: { diskMiB: 64 },
      });
      // The result is told before the tear-down; wait for both slots to be handed back.
      for (let attempt = 0; mountedAtSlotRelease.length < 2 && attempt < 200; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }

      assert.equal(result.stdout, 'filled\n', JSON.stringify(result));
      assert.equal(scratchMounts.length, 1);
      assert.deepEqual(mountedAtSlotRelease, [false, false], 'a slot was handed back with the scratch still mounted');
    } finally {
      await fixture.close();
    }
  });
});
