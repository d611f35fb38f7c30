import { type ChildProcess, spawn } from 'node:child_process';
import { repoPath } from './dev-cluster.js';

// A TypeScript entry point of the repository (the operator, the gateway) run as a child process
// the way a cluster suite needs it: its log kept for failure messages, started once a line of the
// log says so, stopped with SIGTERM and, failing that, SIGKILL.

export interface LocalProcess {
  child: ChildProcess;
  /** The last 200 KB of its stdout and stderr. */
  output(): string;
  stop(): Promise<void>;
}

export async function startLocal(
  entry: string,
  env: NodeJS.ProcessEnv,
  readyLine: RegExp,
  timeoutMs = 90_000,
): Promise<LocalProcess> {
  const child = spawn(process.execPath, ['--import=tsx', repoPath(entry)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-200_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${entry} did not log ${readyLine} within ${timeoutMs / 1000} s:\n${output}`)),
      timeoutMs,
    );
    const check = () => {
      if (!readyLine.test(output)) return;
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.stderr?.off('data', check);
      resolve();
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code}:\n${output}`));
    });
  });
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.pid !== undefined) child.kill('SIGTERM');
      const killLater = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killLater);
    },
  };
}
