import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type CgroupDriver, detectCgroupDriver } from '../../sandbox/cgroups.js';
import { exists, hierarchies, isRunning, plantProcess } from '../helpers/cgroups.js';
import { timeScale } from '../helpers/time-scale.js';

// The cgroup slots on this machine's own hierarchy (v1 or v2, as mounted): a slot is reused only
// once nothing of the last step is left in it, closing leaves no cgroup behind, and the slots of a
// gateway that died are emptied and removed when the next one starts.

function kernelAtLeast(major: number, minor: number): boolean {
  const [have = 0, haveMinor = 0] = release().split('.').map(Number);
  return have > major || (have === major && haveMinor >= minor);
}

describe('cgroup slots on the host', function () {
  this.timeout(30_000 * timeScale);
  const limits = { memoryMiB: 64, pids: 16, cpus: 1 };
  let driver: CgroupDriver;

  beforeEach(() => {
    driver = detectCgroupDriver('sandpod-test');
  });
  afterEach(async () => {
    await driver.close();
  });

  it('should kill what a step left in its slot when the slot is released, and reuse the slot', async () => {
    const first = await driver.acquire('left-behind', limits);
    const sleeper = await plantProcess(first.containerPath);
    const killed = new Promise((resolve) => sleeper.once('exit', (_code, signal) => resolve(signal)));
    await first.release();
    assert.equal(await killed, 'SIGKILL');
    for (const root of await hierarchies()) assert.equal(await exists(join(root, first.containerPath)), false, root);

    const second = await driver.acquire('next', limits);
    // On cgroup v2 a kernel before 6.12 cannot reset memory.peak, so a slot serves one step and is
    // then removed (sandbox/cgroups/v2.ts): the next step gets a fresh one.
    if (driver.version === 1 || kernelAtLeast(6, 12)) {
      assert.equal(dirname(second.containerPath), dirname(first.containerPath));
    } else {
      assert.notEqual(dirname(second.containerPath), dirname(first.containerPath));
    }
    assert.equal(await second.pidsLimitReached(), false);
    await second.release();
  });

  it('should remove every slot from every hierarchy when it closes', async () => {
    const held = await driver.acquire('held', limits);
    const released = await driver.acquire('released', limits);
    await released.release();
    await driver.close();
    for (const root of await hierarchies()) {
      for (const cgroup of [held, released]) {
        assert.equal(await exists(join(root, dirname(cgroup.containerPath))), false, `${root}${cgroup.containerPath}`);
      }
    }
  });

  it('should kill and remove the slots of a gateway that died when the next one starts', async () => {
    const holderScript = fileURLToPath(new URL('../helpers/cgroup-slot-holder.ts', import.meta.url));
    const holder = spawn(process.execPath, ['--import', 'tsx', holderScript, 'sandpod-test'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await once(createInterface({ input: holder.stdout }), 'line')) as [string];
    const held = JSON.parse(line) as { containerPath: string; pid: number };
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    assert.equal(await isRunning(held.pid), true, "the process in the dead gateway's slot ran before the clean-up");

    assert.ok((await driver.removeOrphans()) >= 1);
    assert.equal(await isRunning(held.pid), false);
    for (const root of await hierarchies()) {
      assert.equal(await exists(join(root, dirname(held.containerPath))), false, `${root}${held.containerPath}`);
    }
  });
});
