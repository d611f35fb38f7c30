import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { join } from 'node:path';
import yaml from 'js-yaml';

// The embedded gateway as a process of its own (dist/gateway/main.js, as `make run` starts it), so
// that what is sampled (its memory, descriptors, mounts, cgroups) is the gateway's alone and not
// the load generator's.

export interface GatewayProcess {
  pid: number;
  url: string;
  /** Where its bundles, scratch mounts and state live; mounts below it are its own. */
  stateDir: string;
  /** SIGTERM, then waits for the exit; resolves with the exit code (or signal name). */
  stop(): Promise<number | string>;
  /** Set when the process ended on its own: a crash. */
  exited(): number | string | undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with ${child.exitCode} while starting`);
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the gateway did not become ready within 60 s');
}

/**
 * Starts the gateway with `config` (merged over a state directory of its own under `root`) on a
 * free loopback port. Its stderr is kept in `<root>/gateway.log`.
 */
export async function startGatewayProcess(root: string, config: Record<string, unknown>): Promise<GatewayProcess> {
  await mkdir(root, { recursive: true });
  const stateDir = join(root, 'state');
  const embedded = (config.embedded ?? {}) as Record<string, unknown>;
  const configPath = join(root, 'config.yaml');
  await writeFile(configPath, yaml.dump({ logLevel: 'warn', ...config, embedded: { ...embedded, stateDir } }));
  const port = await freePort();
  const { openSync } = await import('node:fs');
  const logFd = openSync(join(root, 'gateway.log'), 'a');
  const child = spawn(process.execPath, ['dist/gateway/main.js'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', SANDPOD_CONFIG: configPath },
    stdio: ['ignore', logFd, logFd],
  });
  let exit: number | string | undefined;
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = code ?? signal ?? 'unknown';
      resolve(exit);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, child);
  return {
    pid: child.pid as number,
    url,
    stateDir,
    exited: () => exit,
    stop: async () => {
      if (exit === undefined) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Removes a root made for a gateway process, once the process is gone. */
export async function removeRoot(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
}
