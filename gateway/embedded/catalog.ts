import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import type { RequestedLimits, RuntimeInfo, RuntimeLimits } from '../../contract/index.js';
import { parseRuntimeCatalog, withBuildDir } from '../../contract/runtime-catalog.js';

const run = promisify(execFile);

/** Where a step's files are and the compile step writes: the sandbox's working directory. */
const EMBEDDED_BUILD_DIR = '/work';

/** What embedded mode takes of a catalog entry. */
export interface RuntimeEntry {
  name: string;
  aliases: string[];
  fileName: string;
  compile?: string[];
  run: string[];
  interactiveRun: string[];
  version: { command: string[]; pattern: string };
  /** Host directories under /etc the toolchain reads, shown read-only in the sandbox. */
  etc: string[];
  /** This language's defaults and maxima, within the tenant's policy. */
  limits?: RuntimeLimits;
  /** Over the gateway's compileLimits for this language. */
  compileLimits?: RequestedLimits;
  /** Host paths outside /usr the toolchain reads (its /etc directories and its image's paths there), shown read-only. */
  toolchainPaths: string[];
}

export interface Runtime extends RuntimeEntry {
  detectedVersion: string;
}

export interface Catalog {
  /** Runtimes whose toolchain works on this machine. */
  available: Runtime[];
  /** Runtimes left out, with the reason, for the start-up log. */
  unavailable: { name: string; reason: string }[];
  /** A runtime by name or alias. */
  find(name: string): Runtime | undefined;
}

export function parseCatalog(text: string, source: string): RuntimeEntry[] {
  return parseRuntimeCatalog(text, source).runtimes.map((entry) => ({
    name: entry.name,
    aliases: entry.aliases,
    fileName: entry.fileName,
    ...(entry.compile ? { compile: withBuildDir(entry.compile, EMBEDDED_BUILD_DIR) } : {}),
    run: withBuildDir(entry.run, EMBEDDED_BUILD_DIR),
    interactiveRun: entry.interactiveRun,
    version: { command: entry.version.command, pattern: entry.version.pattern },
    etc: entry.etc.map((dir) => dir.replace(/\/$/, '')),
    ...(entry.limits ? { limits: entry.limits } : {}),
    ...(entry.compileLimits ? { compileLimits: entry.compileLimits } : {}),
    toolchainPaths: [...entry.etc, ...entry.image.paths.filter((path) => !path.startsWith('/usr/'))],
  }));
}

/**
 * Version commands at once: a JVM language's starts a JVM (a second of CPU, kotlinc's more), and
 * two dozen of them together on a small machine would each take long enough to time out.
 */
const DETECT_CONCURRENCY = Math.max(2, availableParallelism());
const DETECT_TIMEOUT_MS = 30_000;

async function detectVersion(entry: RuntimeEntry): Promise<string> {
  const [command, ...args] = entry.version.command as [string, ...string[]];
  const { stdout, stderr } = await run(command, args, { timeout: DETECT_TIMEOUT_MS });
  const match = new RegExp(entry.version.pattern).exec(`${stdout}${stderr}`);
  if (!match?.[1]) throw new Error(`version pattern did not match ${JSON.stringify(stdout.slice(0, 80))}`);
  return match[1];
}

/** `map` of `items`, at most `limit` at a time, results in the order of `items`. */
async function mapWithConcurrency<T, R>(items: T[], limit: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export async function loadCatalog(path: string): Promise<Catalog> {
  const entries = parseCatalog(await readFile(path, 'utf8'), path);
  const detect = async (entry: RuntimeEntry) => {
    try {
      return { runtime: { ...entry, detectedVersion: await detectVersion(entry) } };
    } catch (error) {
      return { missing: { name: entry.name, reason: (error as Error).message } };
    }
  };
  const detected = await mapWithConcurrency(entries, DETECT_CONCURRENCY, detect);
  const available = detected.flatMap((result) => (result.runtime ? [result.runtime] : []));
  const byName = new Map<string, Runtime>();
  for (const runtime of available) {
    for (const name of [runtime.name, ...runtime.aliases]) byName.set(name, runtime);
  }
  return {
    available,
    unavailable: detected.flatMap((result) => (result.missing ? [result.missing] : [])),
    find: (name) => byName.get(name),
  };
}

export function runtimeInfo(runtime: Runtime): RuntimeInfo {
  return {
    name: runtime.name,
    version: runtime.detectedVersion,
    aliases: runtime.aliases,
    compiled: runtime.compile !== undefined,
    fileName: runtime.fileName,
  };
}
