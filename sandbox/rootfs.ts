import { copyFile, lstat, mkdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SCRATCH_MOUNT_POINT } from './oci-spec.js';

// The read-only root every step starts from: an almost empty skeleton whose mount points are
// filled with the host's toolchains, read-only. /etc is made here rather than shown from the
// host, so a program that reads /etc/passwd (or #includes it) sees two harmless lines.

export interface RootfsLayout {
  rootfsPath: string;
  readOnlyBinds: { source: string; destination: string }[];
}

const USR_DIRS = ['bin', 'lib', 'lib64', 'sbin'];
/** Host paths that toolchains reach through symlinks (cc → /etc/alternatives/cc). */
const HOST_ETC_DIRS = ['/etc/alternatives'];

async function isSymlink(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isSymbolicLink();
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * @param toolchainPaths host files and directories outside /usr that toolchains read (the runtime
 *   catalog's `etc` directories and its images' paths there: the JVM's /etc/java-17-openjdk, GHC's
 *   package database in /var/lib/ghc): shown read-only at the same place, a symlink among them made
 *   again as the same symlink. Paths the host lacks are left out.
 */
export async function prepareRootfs(
  stateDir: string,
  uids: number[],
  gid: number,
  toolchainPaths: string[] = [],
): Promise<RootfsLayout> {
  const rootfsPath = join(stateDir, 'rootfs');
  await rm(rootfsPath, { recursive: true, force: true });
  await mkdir(rootfsPath, { recursive: true, mode: 0o755 });
  const readOnlyBinds: RootfsLayout['readOnlyBinds'] = [{ source: '/usr', destination: '/usr' }];
  for (const dir of ['usr', 'etc', 'proc', 'dev', 'tmp', 'work', SCRATCH_MOUNT_POINT])
    await mkdir(join(rootfsPath, dir));
  for (const dir of USR_DIRS) {
    const hostPath = `/${dir}`;
    if (!(await exists(hostPath))) continue;
    if (await isSymlink(hostPath)) {
      // Merged /usr: /bin is a link into /usr, which is bound already.
      await symlink(`usr/${dir}`, join(rootfsPath, dir));
    } else {
      await mkdir(join(rootfsPath, dir));
      readOnlyBinds.push({ source: hostPath, destination: hostPath });
    }
  }
  for (const hostDir of HOST_ETC_DIRS) {
    if (!(await exists(hostDir))) continue;
    await mkdir(join(rootfsPath, hostDir), { recursive: true });
    readOnlyBinds.push({ source: hostDir, destination: hostDir });
  }
  await writeEtc(join(rootfsPath, 'etc'), uids, gid);
  readOnlyBinds.push(...(await showToolchainPaths(rootfsPath, toolchainPaths)));
  return { rootfsPath, readOnlyBinds };
}

/** Where the sandbox shows something else already: a toolchain path there is not shown again. */
const MOUNTED_DIRS = ['/usr', '/proc', '/dev', '/tmp', '/work', SCRATCH_MOUNT_POINT, ...HOST_ETC_DIRS];

/** Mount points (or symlinks) in the rootfs for the toolchains' paths; the binds they need. */
async function showToolchainPaths(rootfsPath: string, paths: string[]): Promise<RootfsLayout['readOnlyBinds']> {
  const binds: RootfsLayout['readOnlyBinds'] = [];
  const shown: string[] = [];
  const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);
  // Sorted, a directory comes before what is in it, which it then shows already.
  for (const hostPath of [...new Set(paths.map((path) => path.replace(/\/+$/, '')))].sort()) {
    if (!hostPath.startsWith('/') || hostPath.split('/').includes('..')) continue;
    if ([...MOUNTED_DIRS, ...shown].some((dir) => under(hostPath, dir))) continue;
    const inRootfs = join(rootfsPath, hostPath);
    // The generated /etc files (passwd, hosts...) stay what they are.
    if (await exists(inRootfs)) continue;
    let stats: Awaited<ReturnType<typeof lstat>>;
    try {
      stats = await lstat(hostPath);
    } catch {
      continue;
    }
    await mkdir(dirname(inRootfs), { recursive: true });
    if (stats.isSymbolicLink()) {
      await symlink(await readlink(hostPath), inRootfs);
    } else if (stats.isDirectory()) {
      await mkdir(inRootfs);
      binds.push({ source: hostPath, destination: hostPath });
    } else if (stats.isFile()) {
      await writeFile(inRootfs, '', { mode: 0o644 });
      binds.push({ source: hostPath, destination: hostPath });
    } else {
      continue;
    }
    shown.push(hostPath);
  }
  return binds;
}

/** Every sandbox user is named `sandbox`, so that a program finds its own name whichever it got. */
async function writeEtc(etc: string, uids: number[], gid: number): Promise<void> {
  const users = uids.map((uid) => `sandbox:x:${uid}:${gid}:sandbox:/work:/usr/sbin/nologin\n`).join('');
  const files: Record<string, string> = {
    passwd: `root:x:0:0:root:/root:/usr/sbin/nologin\n${users}`,
    group: `root:x:0:\nsandbox:x:${gid}:\n`,
    hosts: '127.0.0.1\tlocalhost sandbox\n::1\tlocalhost\n',
    'nsswitch.conf': 'passwd: files\ngroup: files\nhosts: files\n',
    // No resolver: names other than localhost fail at once instead of timing out.
    'resolv.conf': '',
    hostname: 'sandbox\n',
  };
  for (const [name, content] of Object.entries(files)) await writeFile(join(etc, name), content, { mode: 0o644 });
  // The loader's cache lets programs find libraries in multiarch directories quickly.
  await copyFile('/etc/ld.so.cache', join(etc, 'ld.so.cache')).catch(() => undefined);
}
