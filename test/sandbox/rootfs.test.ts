import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { prepareRootfs } from '../../sandbox/rootfs.js';

describe('prepareRootfs', () => {
  let scratch: string;

  beforeEach(async () => {
    // Not under /tmp: the sandbox mounts its own /tmp, so a toolchain path there is never shown.
    scratch = await mkdtemp('/var/tmp/sandpod-rootfs-');
  });

  afterEach(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('should bind a toolchain directory and file read-only at the same place when the host has them', async () => {
    const toolchainDir = join(scratch, 'host', 'var', 'lib', 'tool');
    const toolchainFile = join(scratch, 'host', 'etc', 'tool.cfg');
    await mkdir(toolchainDir, { recursive: true });
    await mkdir(join(scratch, 'host', 'etc'));
    await writeFile(toolchainFile, 'setting\n');
    const layout = await prepareRootfs(join(scratch, 'state'), [65534], 65534, [`${toolchainDir}/`, toolchainFile]);
    assert.deepEqual(
      layout.readOnlyBinds.filter(({ source }) => source.startsWith(scratch)),
      [
        { source: toolchainFile, destination: toolchainFile },
        { source: toolchainDir, destination: toolchainDir },
      ],
    );
    assert.ok((await lstat(join(layout.rootfsPath, toolchainDir))).isDirectory());
    assert.ok((await lstat(join(layout.rootfsPath, toolchainFile))).isFile());
  });

  it('should make a symlink again rather than bind its target when a toolchain path is a symlink', async () => {
    const link = join(scratch, 'host', 'etc', 'tool.cfg');
    await mkdir(join(scratch, 'host', 'etc'), { recursive: true });
    await symlink('/etc/alternatives/tool.cfg', link);
    const layout = await prepareRootfs(join(scratch, 'state'), [65534], 65534, [link]);
    assert.equal(await readlink(join(layout.rootfsPath, link)), '/etc/alternatives/tool.cfg');
    assert.equal(layout.readOnlyBinds.filter(({ source }) => source.startsWith(scratch)).length, 0);
  });

  it('should leave out paths the host lacks, paths under /usr and the generated /etc files when a catalog names them', async () => {
    const layout = await prepareRootfs(join(scratch, 'state'), [65534], 65534, [
      join(scratch, 'no-such-path'),
      '/usr/lib/',
      '/etc/passwd',
      '/etc/alternatives/',
    ]);
    const binds = layout.readOnlyBinds.map(({ source }) => source);
    assert.deepEqual(
      binds.filter((source) => source === '/usr'),
      ['/usr'],
    );
    assert.ok(!binds.includes('/usr/lib') && !binds.includes('/etc/passwd'), binds.join(' '));
    assert.ok(binds.filter((source) => source === '/etc/alternatives').length <= 1, binds.join(' '));
    assert.match(await readFile(join(layout.rootfsPath, 'etc', 'passwd'), 'utf8'), /^root:x:0:0:/);
  });

  it('should bind a directory once and nothing in it when a catalog names both', async () => {
    const toolchainDir = join(scratch, 'host', 'etc', 'tool');
    await mkdir(toolchainDir, { recursive: true });
    await writeFile(join(toolchainDir, 'tool.cfg'), 'setting\n');
    const layout = await prepareRootfs(join(scratch, 'state'), [65534], 65534, [
      join(toolchainDir, 'tool.cfg'),
      toolchainDir,
      `${toolchainDir}/`,
    ]);
    assert.deepEqual(
      layout.readOnlyBinds.filter(({ source }) => source.startsWith(scratch)),
      [{ source: toolchainDir, destination: toolchainDir }],
    );
  });
});
