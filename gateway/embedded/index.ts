import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type winston from 'winston';
import { detectCgroupDriver } from '../../sandbox/cgroups.js';
import { recursiveMountFlags } from '../../sandbox/mount-flags.js';
import { Mounter } from '../../sandbox/mounter.js';
import { ociRuntime } from '../../sandbox/oci-runtime.js';
import type { SeccompProfile } from '../../sandbox/oci-spec.js';
import { prepareRootfs } from '../../sandbox/rootfs.js';
import { SandboxUsers } from '../../sandbox/sandbox-users.js';
import { unmountScratch } from '../../sandbox/scratch.js';
import { ScratchPool } from '../../sandbox/scratch-pool.js';
import { Spawner } from '../../sandbox/spawner.js';
import type { ExecutionBackend } from '../backend.js';
import type { Config } from '../config.js';
import { EmbeddedBackend } from './backend.js';
import { loadCatalog } from './catalog.js';

const run = promisify(execFile);
/** Scratch mounts kept ready: enough for a burst of two without a mount on the path. */
const SCRATCH_READY = 2;

/** The machine cannot sandbox: the message says what is missing and how to get it. */
export class SandboxUnavailableError extends Error {
  override name = 'SandboxUnavailableError';
}

async function findBinary(name: string, configured: string): Promise<string> {
  if (configured) {
    await access(configured).catch(() => {
      throw new SandboxUnavailableError(`the OCI runtime ${configured} does not exist`);
    });
    return configured;
  }
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/usr/local/bin'])) {
    const candidate = join(dir, name);
    if (
      await access(candidate).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  const hint =
    name === 'runc'
      ? 'install it with `apt-get install runc` (make run does this on Debian)'
      : 'build it with `make dev-cluster` or set embedded.ociRuntimePath';
  throw new SandboxUnavailableError(`the OCI runtime ${name} is not installed: ${hint}`);
}

/** Removes what a gateway that died left behind: containers, scratch mounts. */
async function recoverLeftovers(
  stateDir: string,
  runtime: ReturnType<typeof ociRuntime>,
  mounter: Mounter,
  log: winston.Logger,
) {
  const containers = await runtime.list().catch(() => []);
  for (const id of containers.filter((name) => name.startsWith('sandpod-'))) {
    await runtime.forceDelete(id).catch(() => undefined);
  }
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  const leftovers = mounts
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((mountPoint) => mountPoint.startsWith(`${join(stateDir, 'executions')}/`));
  for (const mountPoint of leftovers) await unmountScratch(mounter, mountPoint).catch(() => undefined);
  if (containers.length + leftovers.length > 0) {
    log.warn('Removed leftovers of an earlier run', { containers: containers.length, mounts: leftovers.length });
  }
}

export async function createEmbeddedBackend(config: Config, log: winston.Logger): Promise<ExecutionBackend> {
  const settings = config.embedded;
  if (process.getuid?.() !== 0) {
    throw new SandboxUnavailableError(
      'embedded mode needs root: the sandbox creates cgroups, mounts a capped scratch filesystem per ' +
        'execution and starts containers with runc. Run `sudo make run`, or use the Kubernetes backend.',
    );
  }
  const binary = await findBinary(settings.ociRuntime, settings.ociRuntimePath);
  const stateDir = settings.stateDir;
  await mkdir(join(stateDir, 'executions'), { recursive: true, mode: 0o700 });
  await mkdir(join(stateDir, 'bundles'), { recursive: true, mode: 0o700 });
  await access(settings.spawnerPath, constants.X_OK).catch(() => {
    throw new SandboxUnavailableError(
      `the process spawner ${settings.spawnerPath} is missing: build it with \`make build\` (it needs gcc)`,
    );
  });
  const spawner = new Spawner(settings.spawnerPath);
  const runtime = ociRuntime(settings.ociRuntime, binary, join(stateDir, settings.ociRuntime), spawner);
  const mounter = new Mounter();
  await recoverLeftovers(stateDir, runtime, mounter, log);

  let cgroups: ReturnType<typeof detectCgroupDriver>;
  try {
    cgroups = detectCgroupDriver();
    const probe = await cgroups.acquire('probe', { memoryMiB: 16, pids: 4, cpus: 1 });
    await probe.release();
    const orphans = await cgroups.removeOrphans();
    if (orphans > 0) log.warn('Removed cgroup slots of gateways that died', { slots: orphans });
  } catch (error) {
    throw new SandboxUnavailableError(
      `cannot create cgroups with memory, pids and cpu limits: ${(error as Error).message}. ` +
        'Mount the cgroup filesystem read-write (cgroup v2 at /sys/fs/cgroup, or the v1 controllers).',
    );
  }
  const users = new SandboxUsers(settings.firstUid, settings.maxRunning);
  const [seccomp, catalog] = await Promise.all([
    readFile(settings.seccompProfilePath, 'utf8').then((text) => JSON.parse(text) as SeccompProfile),
    loadCatalog(settings.catalogPath),
  ]);
  // The paths of the runtimes that are there (a missing one would be an empty mount point).
  const rootfs = await prepareRootfs(
    stateDir,
    users.all(),
    settings.gid,
    catalog.available.flatMap((runtime) => runtime.toolchainPaths),
  );
  for (const missing of catalog.unavailable) log.warn('Left out runtime', missing);
  const { stdout: version } = await run(binary, ['--version']);
  const recursive = recursiveMountFlags(settings.ociRuntime, version, release());
  if (!recursive.supported) {
    log.warn('Left mounts below the read-only binds as the host has them', { reason: recursive.reason });
  }
  log.info('Prepared sandbox', {
    ociRuntime: settings.ociRuntime,
    version: version.split('\n')[0],
    cgroupVersion: cgroups.version,
    runtimes: catalog.available.map((entry) => `${entry.name} ${entry.detectedVersion}`),
  });
  return new EmbeddedBackend(
    catalog,
    {
      ociRuntime: runtime,
      cgroups,
      rootfs,
      seccomp,
      stateDir,
      scratchPool: new ScratchPool({
        mounter,
        dir: join(stateDir, 'executions'),
        readySizeMiB: config.limits.defaults.diskMiB,
        readyCount: SCRATCH_READY,
      }),
      users,
      gid: settings.gid,
      recursiveMountFlags: recursive.supported,
      cpus: settings.cpus,
      compileLimits: config.compileLimits,
      log,
    },
    settings,
    log,
  );
}
