import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { z } from 'zod';
import { firstFieldError, type RuntimeInfo } from '../../contract/index.js';

const run = promisify(execFile);

const argvSchema = z.array(z.string().min(1)).min(1);

const runtimeEntrySchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9+-]*$/),
  aliases: z.array(z.string()).default([]),
  fileName: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/),
  compile: argvSchema.optional(),
  run: argvSchema,
  interactiveRun: z.array(z.string().min(1)).default([]),
  env: z.record(z.string(), z.string()).default({}),
  version: z.strictObject({ command: argvSchema, pattern: z.string() }),
});
export type RuntimeEntry = z.infer<typeof runtimeEntrySchema>;

const catalogSchema = z.strictObject({ runtimes: z.array(runtimeEntrySchema).min(1) });

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
  const parsed = catalogSchema.safeParse(yaml.load(text));
  if (!parsed.success) {
    const { field, message } = firstFieldError(parsed.error);
    throw new Error(`${source}: ${field}: ${message}`);
  }
  const names = new Set<string>();
  for (const entry of parsed.data.runtimes) {
    for (const name of [entry.name, ...entry.aliases]) {
      if (names.has(name)) throw new Error(`${source}: the name ${name} is used twice`);
      names.add(name);
    }
  }
  return parsed.data.runtimes;
}

async function detectVersion(entry: RuntimeEntry): Promise<string> {
  const [command, ...args] = entry.version.command as [string, ...string[]];
  const { stdout, stderr } = await run(command, args, { timeout: 10_000 });
  const match = new RegExp(entry.version.pattern).exec(`${stdout}${stderr}`);
  if (!match?.[1]) throw new Error(`version pattern did not match ${JSON.stringify(stdout.slice(0, 80))}`);
  return match[1];
}

export async function loadCatalog(path: string): Promise<Catalog> {
  const entries = parseCatalog(await readFile(path, 'utf8'), path);
  const detected = await Promise.all(
    entries.map(async (entry) => {
      try {
        return { runtime: { ...entry, detectedVersion: await detectVersion(entry) } };
      } catch (error) {
        return { missing: { name: entry.name, reason: (error as Error).message } };
      }
    }),
  );
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
  };
}
