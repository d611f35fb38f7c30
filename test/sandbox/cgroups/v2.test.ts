import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cgroupV2Driver } from '../../../sandbox/cgroups.js';

// cgroup v2 is the primary target, and this machine mounts v1: the v2 driver's writes and
// reads are checked over a directory laid out like the unified hierarchy.

const limits = { memoryMiB: 64, pids: 32, cpus: 1.5 };
const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe('cgroup v2 driver', () => {
  let root: string;
  /** The slot a step's container sits in, as a directory of the stand-in hierarchy. */
  const slotOf = (containerPath: string) => join(root, dirname(containerPath));

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'sandpod-cgroup2-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('should delegate controllers and write the limits on the slot when it acquires one', async () => {
    const cgroup = await cgroupV2Driver('sandpod', root).acquire('exec-run', limits);
    const slot = slotOf(cgroup.containerPath);
    const read = (file: string) => readFile(join(slot, file), 'utf8');
    assert.equal(await readFile(join(root, 'cgroup.subtree_control'), 'utf8'), '+cpu +memory +pids');
    assert.equal(await readFile(join(root, 'sandpod/cgroup.subtree_control'), 'utf8'), '+cpu +memory +pids');
    assert.equal(await read('memory.max'), String(64 * 1024 * 1024));
    assert.equal(await read('memory.swap.max'), '0');
    assert.equal(await read('pids.max'), '32');
    assert.equal(await read('cpu.max'), '150000 100000');
    assert.match(cgroup.containerPath, new RegExp(`^/sandpod/${process.pid}-[0-9a-f]{8}-0/exec-run$`));
  });

  it('should read CPU time, OOM kills and the pids peak of the step from the slot counters', async () => {
    const cgroup = await cgroupV2Driver('sandpod', root).acquire('exec-run', limits);
    const slot = slotOf(cgroup.containerPath);
    await writeFile(join(slot, 'cpu.stat'), 'usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\n');
    await writeFile(join(slot, 'memory.events'), 'low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n');
    await writeFile(join(slot, 'pids.peak'), '32\n');
    assert.equal(await cgroup.cpuTimeMs(), 1234.567);
    assert.equal(await cgroup.memoryLimitHit(), true);
    assert.equal(await cgroup.pidsLimitReached(), true);
  });

  it('should read the memory peak from memory.peak when the kernel cannot reset it per step', async () => {
    const cgroup = await cgroupV2Driver('sandpod', root).acquire('exec-run', limits);
    await writeFile(join(slotOf(cgroup.containerPath), 'memory.peak'), `${100 * 1024 * 1024}\n`);
    assert.equal(await cgroup.memoryPeakBytes(), 100 * 1024 * 1024);
  });

  it('should count only what the next step adds when a released slot is reused', async () => {
    const driver = cgroupV2Driver('sandpod', root);
    const first = await driver.acquire('first-run', limits);
    const slot = slotOf(first.containerPath);
    await writeFile(join(slot, 'cpu.stat'), 'usage_usec 5000000\n');
    await writeFile(join(slot, 'memory.events'), 'oom_kill 1\n');
    await first.release();

    const second = await driver.acquire('second-run', { ...limits, memoryMiB: 128 });
    assert.equal(slotOf(second.containerPath), slot);
    assert.equal(await readFile(join(slot, 'memory.max'), 'utf8'), String(128 * 1024 * 1024));
    assert.equal(await second.cpuTimeMs(), 0);
    assert.equal(await second.memoryLimitHit(), false);
    await writeFile(join(slot, 'cpu.stat'), 'usage_usec 5250000\n');
    assert.equal(await second.cpuTimeMs(), 250);
  });

  it('should give a fresh slot when the released one has reached the pids limit of the next step', async () => {
    const driver = cgroupV2Driver('sandpod', root);
    const bomb = await driver.acquire('bomb-run', limits);
    const used = slotOf(bomb.containerPath);
    await writeFile(join(used, 'pids.peak'), '32\n');
    await bomb.release();

    const next = await driver.acquire('next-run', limits);
    assert.notEqual(slotOf(next.containerPath), used);
    assert.equal(await next.pidsLimitReached(), false);
  });

  it('should kill and remove what the runtime left below the slot when the step is released', async () => {
    const cgroup = await cgroupV2Driver('sandpod', root).acquire('exec-run', limits);
    const slot = slotOf(cgroup.containerPath);
    await mkdir(join(root, cgroup.containerPath));
    // The kernel provides the file; the driver only ever writes to files that are there.
    await writeFile(join(slot, 'cgroup.kill'), '');
    await cgroup.release();
    assert.equal(await readFile(join(slot, 'cgroup.kill'), 'utf8'), '1');
    assert.equal(await exists(join(root, cgroup.containerPath)), false);
    assert.equal(await exists(slot), true);
  });

  it('should remove the slots of a gateway that died and keep those of live ones', async () => {
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => gone.once('exit', resolve));
    const dead = join(root, `sandpod/${gone.pid}-0badcafe-0`);
    const live = join(root, `sandpod/${process.pid}-0badcafe-0`);
    const driver = cgroupV2Driver('sandpod', root);
    await (await driver.acquire('first-run', limits)).release();
    await mkdir(dead);
    await mkdir(live);
    assert.equal(await driver.removeOrphans(), 1);
    assert.equal(await exists(dead), false);
    assert.equal(await exists(live), true);
  });
});
