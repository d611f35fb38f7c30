import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { DEFAULT_LIMITS, type ExecutionResult, type Limits } from '../../contract/index.js';
import type { ExecutionBackend, ExecutionSpec } from '../../gateway/backend.js';
import { type Config, parseConfig } from '../../gateway/config.js';
import { createEmbeddedBackend } from '../../gateway/embedded/index.js';
import { testLogger } from './logger.js';
import { scaledCatalogPath, scaledTimes } from './time-scale.js';

export { testLogger };

const run = promisify(execFile);

/**
 * A configuration whose state lives apart from any gateway running on this machine, so that
 * a test's start-up clean-up never touches another process's sandboxes. The compile step's time
 * limits, the configured ones and each language's own, are scaled for emulation as a run's are
 * (helpers/time-scale.ts).
 */
export function testConfig(overrides: Record<string, unknown> = {}, embedded: Record<string, unknown> = {}): Config {
  const config = parseConfig({
    ...overrides,
    embedded: {
      stateDir: `/run/sandpod-test/${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      ociRuntime: process.env.SANDPOD_OCI_RUNTIME ?? 'runc',
      ...(process.env.SANDPOD_OCI_RUNTIME_PATH ? { ociRuntimePath: process.env.SANDPOD_OCI_RUNTIME_PATH } : {}),
      ...embedded,
    },
  });
  const catalogPath = scaledCatalogPath(config.embedded.catalogPath);
  return {
    ...config,
    compileLimits: scaledTimes(config.compileLimits),
    ...(catalogPath ? { embedded: { ...config.embedded, catalogPath } } : {}),
  };
}

/** runsc keeps a network namespace bound under its state root; a test's clean-up unmounts it. */
async function unmountBelow(dir: string): Promise<void> {
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  for (const mountPoint of mounts.split('\n').map((line) => line.split(' ')[1] ?? '')) {
    if (mountPoint.startsWith(`${dir}/`)) await run('umount', ['-l', mountPoint]).catch(() => undefined);
  }
}

export interface EmbeddedFixture {
  backend: ExecutionBackend;
  config: Config;
  close(): Promise<void>;
}

export async function startEmbedded(config: Config = testConfig()): Promise<EmbeddedFixture> {
  const backend = await createEmbeddedBackend(config, testLogger());
  return {
    backend,
    config,
    close: async () => {
      await backend.close(5_000);
      await unmountBelow(config.embedded.stateDir);
      await rm(config.embedded.stateDir, { recursive: true, force: true });
    },
  };
}

export type RunRequest = Omit<ExecutionSpec, 'limits'> & { limits?: Partial<Limits> };

/**
 * Runs one program to its end through a backend, as tenant `default` unless told otherwise, with
 * its time limits scaled for emulation (helpers/time-scale.ts).
 */
export async function runToEnd(
  backend: ExecutionBackend,
  request: RunRequest,
  tenant = 'default',
): Promise<ExecutionResult> {
  const limits = scaledTimes({ ...DEFAULT_LIMITS, ...request.limits });
  const { id } = await backend.start(tenant, { ...request, limits });
  const result = await backend.wait(tenant, id);
  if (!result) throw new Error(`execution ${id} vanished`);
  return result;
}
