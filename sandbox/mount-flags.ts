// Whether the OCI runtime can make a bind's flags hold for every mount below it too. A bind of
// /usr with `ro` makes /usr read-only but leaves a mount the host has below it (a tmpfs, an
// automount) as the host has it, writable and with setuid honoured. runc applies the recursive
// flags (`rro`, `rnosuid`, `rnodev`) with mount_setattr(2), from runc 1.1 on kernels from 5.12.
// runsc ignores them, with a warning: it serves each bind as one mount of its own kernel, read-only
// as a whole with whatever lies below, so there is nothing left to ask for.

export interface RecursiveMountFlags {
  /** Whether to put the recursive flags in the spec. */
  supported: boolean;
  /** Why not, for the log, when not. */
  reason?: string;
}

const atLeast = (version: [number, number], wanted: [number, number]) =>
  version[0] > wanted[0] || (version[0] === wanted[0] && version[1] >= wanted[1]);

function majorMinor(text: string, pattern: RegExp): [number, number] | undefined {
  const match = pattern.exec(text);
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

/** `versionOutput` is what `<runtime> --version` printed; `kernelRelease` is `uname -r`. */
export function recursiveMountFlags(
  runtime: 'runc' | 'runsc',
  versionOutput: string,
  kernelRelease: string,
): RecursiveMountFlags {
  if (runtime === 'runsc') {
    return {
      supported: false,
      reason: 'runsc makes each bind one read-only mount of its own kernel, submounts included',
    };
  }
  const runc = majorMinor(versionOutput, /runc version (\d+)\.(\d+)/);
  if (!runc || !atLeast(runc, [1, 1])) {
    return { supported: false, reason: `runc ${runc?.join('.') ?? '(unknown version)'} is older than 1.1` };
  }
  const kernel = majorMinor(kernelRelease, /^(\d+)\.(\d+)/);
  if (!kernel || !atLeast(kernel, [5, 12])) {
    return { supported: false, reason: `kernel ${kernelRelease} is older than 5.12 (no mount_setattr)` };
  }
  return { supported: true };
}
