import semver from 'semver';
import type { RuntimeInfo } from '../../../contract/index.js';

/** A runtime as Piston v2's GET /runtimes lists it. */
export interface PistonRuntime {
  language: string;
  version: string;
  aliases: string[];
  /** The toolchain behind the language, where Piston names one (node for javascript). */
  runtime?: string;
}

/** Piston names the toolchain of some languages; keyed by sandpod runtime name. */
const TOOLCHAINS: Readonly<Record<string, string>> = { javascript: 'node', c: 'gcc', cpp: 'gcc', csharp: 'mono' };

/** Piston versions are semver; a runtime's "3.11" or "gcc-12" reads as 3.11.0 and 12.0.0. */
export function pistonVersion(version: string): string {
  return semver.coerce(version)?.version ?? '0.0.0';
}

export function pistonRuntime(runtime: RuntimeInfo): PistonRuntime {
  const toolchain = TOOLCHAINS[runtime.name];
  return {
    language: runtime.name,
    version: pistonVersion(runtime.version),
    aliases: runtime.aliases,
    ...(toolchain === undefined ? {} : { runtime: toolchain }),
  };
}

/** The runtime a request names by language (or alias) and a semver range or `*`. */
export function matchRuntime(runtimes: RuntimeInfo[], language: string, range: string): RuntimeInfo | undefined {
  return runtimes.find(
    (runtime) =>
      (runtime.name === language || runtime.aliases.includes(language)) &&
      semver.satisfies(pistonVersion(runtime.version), range),
  );
}
