import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

// Reading, emptying and removing cgroup directories, the same on v1 and v2.

// Counters are read and reset directly: a cgroup file answers in microseconds, and the thread
// pool's round trips put a millisecond on the path of every run. Limits are written through the
// pool, since lowering a memory limit may make the kernel reclaim first.

/** A number file such as pids.peak; 0 when the kernel has no such file (older kernels). */
export function readNumber(path: string): number {
  try {
    return Number(readFileSync(path, 'utf8').trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

/** The value of `key` in a flat-keyed file such as memory.events or cpu.stat. */
export function readKeyed(path: string, key: string): number {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const line = text.split('\n').find((entry) => entry.startsWith(`${key} `));
  return line ? Number(line.slice(key.length + 1)) : 0;
}

export async function removeWithRetry(path: string, kill: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(path);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt >= 50) throw error;
      await kill();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Sends SIGKILL to every process listed below `dir`, children first. */
export async function killProcessesBelow(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory()) await killProcessesBelow(join(dir, entry.name));
  }
  const procs = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  for (const pid of procs.split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

export async function removeTree(dir: string): Promise<void> {
  await removeChildren(dir);
  await removeWithRetry(dir, () => killProcessesBelow(dir));
}

export async function removeChildren(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory()) await removeTree(join(dir, entry.name));
  }
}

export function hasChildren(dir: string): boolean {
  try {
    return readdirSync(dir, { withFileTypes: true }).some((entry) => entry.isDirectory());
  } catch {
    return false;
  }
}

/** Names of the directories below `dir`, none if it does not exist. */
export function subdirectories(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}
