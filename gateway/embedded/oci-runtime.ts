import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

// The command lines of the OCI runtime: runc, or gVisor's runsc with the same bundle.

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
  /** argv (after the binary) that runs a bundle in the foreground. */
  runArgs(containerId: string, bundleDir: string, pidFile: string, logFile: string): string[];
  kill(containerId: string): Promise<void>;
  forceDelete(containerId: string): Promise<void>;
  /** Whether the runtime still keeps state of the container. */
  hasState(containerId: string): Promise<boolean>;
  /** Containers this state root still knows of, left by a gateway that died. */
  list(): Promise<string[]>;
}

export function ociRuntime(kind: 'runc' | 'runsc', binary: string, stateRoot: string): OciRuntime {
  const globalArgs =
    kind === 'runc'
      ? ['--root', stateRoot]
      : // gVisor: its own network stack disabled, the OCI seccomp filter applied inside the sandbox.
        ['--root', stateRoot, '--network=none', '--oci-seccomp', '--ignore-cgroups=false'];
  const quiet = (args: string[]) => run(binary, [...globalArgs, ...args]).then(() => undefined);
  return {
    kind,
    binary,
    hostPidsOverhead: kind === 'runsc' ? 512 : 0,
    mountsScratch: kind === 'runc',
    runArgs: (containerId, bundleDir, pidFile, logFile) => [
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
    kill: (containerId) => quiet(['kill', containerId, 'KILL']),
    forceDelete: (containerId) => quiet(['delete', '--force', containerId]),
    hasState: (containerId) =>
      access(join(stateRoot, containerId)).then(
        () => true,
        () => false,
      ),
    list: async () => {
      const { stdout } = await run(binary, [...globalArgs, 'list', '--quiet']);
      return stdout.split('\n').filter(Boolean);
    },
  };
}
