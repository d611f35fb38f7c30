import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroupV2Driver } from '../../gateway/embedded/cgroups.js';

// cgroup v2 is the primary target, and this machine mounts v1: the v2 driver's writes and
// reads are checked over a directory laid out like the unified hierarchy.

describe('cgroup v2 driver', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'sandpod-cgroup2-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('should delegate controllers and write the limits on the step parent when it creates one', async () => {
    const cgroup = await cgroupV2Driver('sandpod', root).create('exec-run', { memoryMiB: 64, pids: 32, cpus: 1.5 });
    const read = (file: string) => readFile(join(root, file), 'utf8');
    assert.equal(await read('cgroup.subtree_control'), '+cpu +memory +pids');
    assert.equal(await read('sandpod/cgroup.subtree_control'), '+cpu +memory +pids');
    assert.equal(await read('sandpod/exec-run/memory.max'), String(64 * 1024 * 1024));
    assert.equal(await read('sandpod/exec-run/memory.swap.max'), '0');
    assert.equal(await read('sandpod/exec-run/pids.max'), '32');
    assert.equal(await read('sandpod/exec-run/cpu.max'), '150000 100000');
    assert.equal(cgroup.containerPath, '/sandpod/exec-run/container');
  });

  it('should read CPU time, OOM kills and refused forks from the hierarchical counters', async () => {
    const cgroup = await cgroupV2Driver('sandpod', root).create('exec-run', { memoryMiB: 64, pids: 32, cpus: 1 });
    const dir = join(root, 'sandpod/exec-run');
    await writeFile(join(dir, 'cpu.stat'), 'usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\n');
    await writeFile(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n');
    await writeFile(join(dir, 'pids.peak'), '32\n');
    assert.equal(await cgroup.cpuTimeMs(), 1234.567);
    assert.equal(await cgroup.memoryLimitHit(), true);
    assert.equal(await cgroup.pidsLimitReached(), true);
  });

  it('should read no OOM kill when memory.events counts none', async () => {
    const cgroup = await cgroupV2Driver('sandpod', root).create('exec-run', { memoryMiB: 64, pids: 32, cpus: 1 });
    await writeFile(join(root, 'sandpod/exec-run/memory.events'), 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n');
    assert.equal(await cgroup.memoryLimitHit(), false);
  });
});
