import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type CgroupDriver, detectCgroupDriver } from '../../sandbox/cgroups.js';

// The cgroup slots on this machine's own hierarchy (v1 or v2, as mounted): a slot is reused only
// once nothing of the last step is left in it, and closing leaves no cgroup behind.

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** Mount points of every cgroup hierarchy, v1 and v2. */
async function hierarchies(): Promise<string[]> {
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  return mounts
    .split('\n')
    .map((line) => line.split(' '))
    .filter(([, , type]) => type === 'cgroup' || type === 'cgroup2')
    .map(([, mountPoint]) => mountPoint as string);
}

/** Puts a sleeping process where a runtime would have put its container, in every hierarchy. */
async function plantProcess(containerPath: string): Promise<ChildProcess> {
  const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
  await new Promise((resolve) => sleeper.once('spawn', resolve));
  for (const root of await hierarchies()) {
    const dir = join(root, containerPath);
    await mkdir(dir, { recursive: true });
    // A new cpuset cgroup has no CPUs to run on until they are given; the runtime copies its
    // parent's, as this does from the root down.
    if (await exists(join(dir, 'cpuset.cpus'))) {
      let level = root;
      for (const part of containerPath.split('/').filter(Boolean)) {
        level = join(level, part);
        for (const file of ['cpuset.cpus', 'cpuset.mems']) {
          await writeFile(join(level, file), await readFile(join(root, file), 'utf8'));
        }
      }
    }
    await writeFile(join(dir, 'cgroup.procs'), String(sleeper.pid));
  }
  return sleeper;
}

describe('cgroup slots on the host', function () {
  this.timeout(30_000);
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
    assert.equal(dirname(second.containerPath), dirname(first.containerPath));
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
});
