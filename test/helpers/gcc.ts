import { execFileSync } from 'node:child_process';
import { repoPath } from './dev-cluster.js';

/** Compiles one of the project's C programs with the host's gcc, warnings as errors, as the build does. */
export function compileProgram(source: string, binary: string, extraFlags: string[] = []): void {
  execFileSync('gcc', [...extraFlags, '-O2', '-Wall', '-Wextra', '-Werror', '-o', binary, repoPath(source)]);
}
