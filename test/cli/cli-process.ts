import { spawn } from 'node:child_process';
import path from 'node:path';

// Runs the built `sandpod` command (dist/bin/sandpod, `make build`) as a user's shell would.

export const REPO = path.resolve(import.meta.dirname, '../..');
export const SANDPOD_BIN = path.join(REPO, 'dist/bin/sandpod');

export interface CliAnswer {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  options: {
    env?: Record<string, string | undefined>;
    input?: string;
    cwd?: string;
    /** Sees stdout as it comes. */
    onStdout?: (text: string) => void;
  } = {},
): Promise<CliAnswer> {
  return new Promise((resolve, reject) => {
    const child = spawn(SANDPOD_BIN, args, {
      cwd: options.cwd ?? REPO,
      env: { PATH: process.env.PATH, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (data: string) => {
      stdout += data;
      options.onStdout?.(stdout);
    });
    child.stderr.setEncoding('utf8').on('data', (data: string) => {
      stderr += data;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
