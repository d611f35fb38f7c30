import { readdir, readFile, realpath } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';

// What a process holds that a leak would show: memory, open descriptors, the cgroups it made for
// its sandboxes and the scratch mounts below its state directory. Read from /proc and /sys, never
// from the process itself, so that a wedged gateway still gets measured.

export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}

export async function openFds(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}

/** Directories below `dir`, itself included. */
async function countDirs(dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  let count = 1;
  for (const entry of entries) if (entry.isDirectory()) count += await countDirs(join(dir, entry.name));
  return count;
}

/** The `sandpod` parent in each cgroup hierarchy (v2: one; v1: one per controller mount). */
async function sandpodParents(): Promise<string[]> {
  const root = '/sys/fs/cgroup';
  const candidates = [join(root, 'sandpod')];
  for (const entry of await readdir(root, { withFileTypes: true }).catch(() => [])) {
    if (entry.isDirectory()) candidates.push(join(root, entry.name, 'sandpod'));
  }
  const found = new Set<string>();
  for (const candidate of candidates) {
    const real = await realpath(candidate).catch(() => undefined);
    if (real) found.add(real);
  }
  return [...found];
}

export interface CgroupCount {
  /** Every cgroup directory of the process's slots, in every hierarchy, containers' included. */
  total: number;
  /** Of those, directories below a slot: containers the OCI runtime has not removed. */
  nested: number;
}

/** Cgroups a gateway process owns: its slots are named `<pid>-<random>-<n>` (sandbox/cgroups/slot-pool.ts). */
export async function sandpodCgroups(pid: number): Promise<CgroupCount> {
  let total = 0;
  let slots = 0;
  for (const parent of await sandpodParents()) {
    for (const entry of await readdir(parent, { withFileTypes: true }).catch(() => [])) {
      if (!entry.isDirectory() || !entry.name.startsWith(`${pid}-`)) continue;
      slots += 1;
      total += await countDirs(join(parent, entry.name));
    }
  }
  return { total, nested: total - slots };
}

/** Mounts in the process's mount namespace at or below `dir` (its scratch mounts). */
export async function mountsBelow(pid: number, dir: string): Promise<number> {
  const table = await readFile(`/proc/${pid}/mountinfo`, 'utf8');
  return table.split('\n').filter((line) => {
    const mountPoint = line.split(' ')[4] ?? '';
    return mountPoint === dir || mountPoint.startsWith(`${dir}/`);
  }).length;
}

/** The machine is shared: every figure is printed beside the load average it was taken under. */
export const loadAverage = () =>
  loadavg()
    .map((load) => load.toFixed(2))
    .join(' ');

/** The event-loop delay the gateway's own /metrics reports (prom-client, reset at every scrape). */
export async function eventLoopLag(url: string): Promise<{ p99Ms: number; maxMs: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const seconds = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    p99Ms: seconds('nodejs_eventloop_lag_p99_seconds') * 1000,
    maxMs: seconds('nodejs_eventloop_lag_max_seconds') * 1000,
  };
}

export const percentile = (values: number[], p: number) => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

/** Least-squares slope of y over x. */
export function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - meanX) * (p.y - meanY);
    den += (p.x - meanX) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export const mib = (bytes: number) => bytes / 1024 / 1024;
