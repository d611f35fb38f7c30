import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import type { Limits } from '../../contract/index.js';

// Under emulation (test/cgroup2/run.sh boots a guest without KVM) a CPU second of the program's
// work takes many seconds of the machine's, so the guest sets SANDPOD_TEST_TIME_SCALE and every
// time limit a sandbox test asks for, and every bound on how long a run may take, is multiplied by
// it. Reasons are asserted as they are: a program ends at the same limit, only later.

export const timeScale = parseScale(process.env.SANDPOD_TEST_TIME_SCALE);

function parseScale(text: string | undefined): number {
  if (text === undefined || text === '') return 1;
  const scale = Number(text);
  if (!Number.isFinite(scale) || scale < 1)
    throw new Error(`SANDPOD_TEST_TIME_SCALE must be a number >= 1, not ${text}`);
  return scale;
}

export function scaledTimes(limits: Limits): Limits {
  return { ...limits, wallTimeMs: limits.wallTimeMs * timeScale, cpuTimeMs: limits.cpuTimeMs * timeScale };
}

type TimeLimits = Partial<Pick<Limits, 'wallTimeMs' | 'cpuTimeMs'>>;

const scaleTimes = <T extends TimeLimits | undefined>(limits: T): T =>
  limits === undefined
    ? limits
    : {
        ...limits,
        ...(limits.wallTimeMs !== undefined ? { wallTimeMs: limits.wallTimeMs * timeScale } : {}),
        ...(limits.cpuTimeMs !== undefined ? { cpuTimeMs: limits.cpuTimeMs * timeScale } : {}),
      };

let scaledCatalog: string | undefined;

/**
 * The runtime catalog with each language's own compile and run limits scaled like the configured ones, or
 * undefined when nothing is scaled. Written once per process beside the test's other state.
 */
export function scaledCatalogPath(catalogPath: string): string | undefined {
  if (timeScale === 1) return undefined;
  if (scaledCatalog) return scaledCatalog;
  const catalog = yaml.load(readFileSync(catalogPath, 'utf8')) as {
    runtimes: { compileLimits?: TimeLimits; limits?: { defaults?: TimeLimits; maxima?: TimeLimits } }[];
  };
  for (const runtime of catalog.runtimes) {
    runtime.compileLimits = scaleTimes(runtime.compileLimits);
    // A language's own run defaults and maxima (a JVM's longer CPU time) are scaled alike.
    if (runtime.limits) {
      runtime.limits = { defaults: scaleTimes(runtime.limits.defaults), maxima: scaleTimes(runtime.limits.maxima) };
    }
  }
  scaledCatalog = path.join(mkdtempSync(path.join(tmpdir(), 'sandpod-catalog-')), 'catalog.yaml');
  writeFileSync(scaledCatalog, yaml.dump(catalog));
  return scaledCatalog;
}
