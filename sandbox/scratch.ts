import { chownSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { chmod, copyFile, lchown, lstat, mkdir, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { SourceFile } from '../contract/index.js';
import type { Mounter } from './mounter.js';

// The only writable space of an execution: one tmpfs, capped in bytes and inodes, that holds the
// program's /work, /tmp and /dev/shm. Compiled programs get it mounted on the host, since their
// run step needs what the compile step wrote; the host writes into it only before any program has
// run (into directories it has just made), reads from it only to copy a compiled /work for each
// test of a judged program (freshRunScratch says how), and drops it whole by unmounting.
// Other programs get it from the OCI runtime inside the container (see oci-spec.ts), filled from a
// directory staged here that no program ever sees. Either way nothing a program leaves (symlinks
// included) is ever followed by the host.

export interface Scratch {
  work: string;
  tmp: string;
  shm: string;
  release(): Promise<void>;
}

export interface ScratchOptions {
  mounter: Mounter;
  mountPoint: string;
  sizeMiB: number;
  uid: number;
  gid: number;
}

/** Enough inodes for real programs, few enough that a loop creating files stops soon. */
export const inodesFor = (sizeMiB: number) => Math.min(1_000_000, 1024 + sizeMiB * 64);

export async function mountScratch({ mounter, mountPoint, sizeMiB, uid, gid }: ScratchOptions): Promise<Scratch> {
  await mkdir(mountPoint, { recursive: true, mode: 0o700 });
  const options = `size=${sizeMiB}m,nr_inodes=${inodesFor(sizeMiB)},mode=0755,nosuid,nodev`;
  await mounter.mount(mountPoint, options);
  const scratch: Scratch = {
    work: join(mountPoint, 'work'),
    tmp: join(mountPoint, 'tmp'),
    shm: join(mountPoint, 'shm'),
    release: () => unmountScratch(mounter, mountPoint),
  };
  try {
    makeScratchDirs(mountPoint, uid, gid);
  } catch (error) {
    await scratch.release();
    throw error;
  }
  return scratch;
}

// Staging is a handful of directories and small files that the page cache takes in microseconds
// (in the state directory, or on the scratch tmpfs): made directly, they cost less than a round
// trip through the thread pool each, which put milliseconds on the path of every run. Removing
// directories, which can wait on a disk, goes through the pool (see step.ts).

/** work/, tmp/ and shm/ of a scratch space, owned by the program's user. */
function makeScratchDirs(root: string, uid: number, gid: number): void {
  for (const [dir, mode] of [
    ['work', 0o755],
    ['tmp', 0o1777],
    ['shm', 0o1777],
  ] as const) {
    const path = join(root, dir);
    mkdirSync(path, { mode });
    chownSync(path, uid, gid);
  }
}

/**
 * The content a runtime-mounted scratch tmpfs starts with, in a directory of the step's bundle
 * that sandpod has just made: the request's files in work/, and empty tmp/ and shm/.
 */
export function stageScratch(stagedDir: string, files: SourceFile[], uid: number, gid: number): void {
  mkdirSync(stagedDir, { mode: 0o755 });
  makeScratchDirs(stagedDir, uid, gid);
  stageFiles(join(stagedDir, 'work'), files, uid, gid);
}

/** Writes the request's files into a work directory no program has touched yet. */
export function stageFiles(workDir: string, files: SourceFile[], uid: number, gid: number): void {
  for (const file of files) {
    const path = join(workDir, file.name);
    // O_EXCL: even in a fresh directory, never write through something that already exists.
    writeFileSync(path, file.content, { flag: 'wx', mode: 0o644 });
    chownSync(path, uid, gid);
  }
}

export async function unmountScratch(mounter: Mounter, mountPoint: string): Promise<void> {
  await mounter.unmount(mountPoint).catch((error: Error) => {
    if (!error.message.includes('not mounted')) throw error;
  });
  await rm(mountPoint, { recursive: true, force: true });
}

/**
 * A fresh work/, tmp/ and shm/ for one run of a judged program, on the execution's tmpfs, with
 * work/ a copy of the compiled one. Copied only after every process of the compile step is dead
 * (its PID namespace went with it), so nothing changes underneath; only what lstat finds to be a
 * regular file is copied, symlinks are copied as links and never followed, and FIFOs, sockets and
 * devices are left out. The copy counts toward the tmpfs's size, like the run's own files.
 */
export async function freshRunScratch(scratch: Scratch, name: string, uid: number, gid: number): Promise<Scratch> {
  const root = join(dirname(scratch.work), 'runs', name);
  await mkdir(root, { recursive: true, mode: 0o755 });
  makeScratchDirs(root, uid, gid);
  const run: Scratch = {
    work: join(root, 'work'),
    tmp: join(root, 'tmp'),
    shm: join(root, 'shm'),
    release: () => rm(root, { recursive: true, force: true }),
  };
  try {
    await copyTree(scratch.work, run.work, uid, gid);
  } catch (error) {
    await run.release();
    throw error;
  }
  return run;
}

async function copyTree(from: string, to: string, uid: number, gid: number): Promise<void> {
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    const stats = await lstat(source);
    if (stats.isDirectory()) {
      await mkdir(target, { mode: stats.mode & 0o777 });
      await lchown(target, uid, gid);
      await copyTree(source, target, uid, gid);
    } else if (stats.isSymbolicLink()) {
      await symlink(await readlink(source), target);
      await lchown(target, uid, gid);
    } else if (stats.isFile()) {
      await copyRegularFile(source, target, stats.mode & 0o777, uid, gid);
    }
  }
}

async function copyRegularFile(source: string, target: string, mode: number, uid: number, gid: number) {
  // lstat said a regular file, and nothing of the compile step runs any more to swap it.
  await copyFile(source, target, constants.COPYFILE_EXCL);
  await lchown(target, uid, gid);
  await chmod(target, mode);
}
