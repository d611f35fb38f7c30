import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Spawner, StartedProcess } from './spawner.js';

// The command lines of the OCI runtime, runc or gVisor's runsc with the same bundle, each started
// through the spawner so that no step forks the gateway.

/** The runtime's own environment: a PATH, nothing of the gateway's. */
const RUNTIME_ENV = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };

export interface OciRuntime {
  readonly kind: 'runc' | 'runsc';
  readonly binary: string;
  /**
   * Host tasks the runtime itself needs inside the step's cgroup. gVisor's sentry and gofer run
   * there as host threads, so the host pids limit gets this headroom and the program's own limit
   * is enforced by the sentry from the spec.
   */
  readonly hostPidsOverhead: number;
  /**
   * Whether the runtime can mount a program's scratch tmpfs itself, capped in bytes and inodes and
   * filled from a staged directory (runc's tmpcopyup). runsc cannot: it passes only mode, size,
   * uid and gid on to its own tmpfs (runsc/boot/vfs.go, tmpfsAllowedData), so nr_inodes would be
   * dropped, and it has no copy-up; there the scratch tmpfs is mounted on the host.
   */
  readonly mountsScratch: boolean;
  /** Runs a bundle in the foreground, its stdio over pipes to the gateway. */
  start(containerId: string, bundleDir: string, pidFile: string, logFile: string): Promise<StartedProcess>;
  kill(containerId: string): Promise<void>;
  forceDelete(containerId: string): Promise<void>;
  /** Whether the runtime still keeps state of the container. */
  hasState(containerId: string): Promise<boolean>;
  /** Containers this state root still knows of, left by a gateway that died. */
  list(): Promise<string[]>;
  /** Removes a step's bundle once the runtime is done with it. */
  removeBundle(bundleDir: string): Promise<void>;
  /** Stops starting processes; those started run on to their end. */
  close(): void;
}

export function ociRuntime(kind: 'runc' | 'runsc', binary: string, stateRoot: string, spawner: Spawner): OciRuntime {
  const globalArgs =
    kind === 'runc'
      ? ['--root', stateRoot]
      : // gVisor: its own network stack disabled, the OCI seccomp filter applied inside the sandbox.
        ['--root', stateRoot, '--network=none', '--oci-seccomp', '--ignore-cgroups=false'];
  /** Runs a runtime command to its end, failing with its error output as execFile does. */
  const command = async (args: string[]) => {
    const outcome = await spawner.run(binary, [...globalArgs, ...args], RUNTIME_ENV);
    if (outcome.code !== 0) {
      throw new Error(`${kind} ${args[0]} failed (${outcome.signal ?? outcome.code}): ${outcome.stderr.trim()}`);
    }
    return outcome.stdout;
  };
  const quiet = (args: string[]) => command(args).then(() => undefined);
  return {
    kind,
    binary,
    hostPidsOverhead: kind === 'runsc' ? 512 : 0,
    mountsScratch: kind === 'runc',
    start: (containerId, bundleDir, pidFile, logFile) =>
      spawner.start(
        binary,
        [
          ...globalArgs,
          '--log',
          logFile,
          '--log-format',
          'json',
          'run',
          '--bundle',
          bundleDir,
          '--pid-file',
          pidFile,
          containerId,
        ],
        RUNTIME_ENV,
      ),
    kill: (containerId) => quiet(['kill', containerId, 'KILL']),
    forceDelete: (containerId) => quiet(['delete', '--force', containerId]),
    hasState: (containerId) =>
      access(join(stateRoot, containerId)).then(
        () => true,
        () => false,
      ),
    list: async () => (await command(['list', '--quiet'])).split('\n').filter(Boolean),
    removeBundle: (bundleDir) => spawner.remove(bundleDir),
    close: () => spawner.close(),
  };
}
