import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

// The command lines of the OCI runtime: runc, or gVisor's runsc with the same bundle.

export interface OciRuntime {
  readonly kind: 'runc' | 'runsc';
  readonly binary: string;
  /** argv (after the binary) that runs a bundle in the foreground. */
  runArgs(containerId: string, bundleDir: string, pidFile: string, logFile: string): string[];
  kill(containerId: string): Promise<void>;
  forceDelete(containerId: string): Promise<void>;
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
    list: async () => {
      const { stdout } = await run(binary, [...globalArgs, 'list', '--quiet']);
      return stdout.split('\n').filter(Boolean);
    },
  };
}
