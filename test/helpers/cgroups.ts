import { type ChildProcess, spawn } from 'node:child_process';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// The machine's own cgroup hierarchies, for tests that put processes where an OCI runtime would.

export const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** Mount points of every cgroup hierarchy, v1 and v2. */
export async function hierarchies(): Promise<string[]> {
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  return mounts
    .split('\n')
    .map((line) => line.split(' '))
    .filter(([, , type]) => type === 'cgroup' || type === 'cgroup2')
    .map(([, mountPoint]) => mountPoint as string);
}

/** Whether `pid` still runs: a zombie has left its cgroups and counts as gone. */
export async function isRunning(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // The state follows the command name, which is in parentheses and may hold spaces.
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

/** Puts a sleeping process where a runtime would have put its container, in every hierarchy. */
export async function plantProcess(containerPath: string): Promise<ChildProcess> {
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
