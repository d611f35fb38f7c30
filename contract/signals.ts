// Linux signal names by number, for the signal that ended a program. Both backends name a signal
// death the same way: the OCI runtime and the kubelet report it as exit status 128 + n.

const SIGNAL_NAMES: readonly string[] = [
  '',
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGKILL',
  'SIGUSR1',
  'SIGSEGV',
  'SIGUSR2',
  'SIGPIPE',
  'SIGALRM',
  'SIGTERM',
  'SIGSTKFLT',
  'SIGCHLD',
  'SIGCONT',
  'SIGSTOP',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
  'SIGURG',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGVTALRM',
  'SIGPROF',
  'SIGWINCH',
  'SIGIO',
  'SIGPWR',
  'SIGSYS',
];

/** The name of a standard signal, or undefined for a real-time or unknown number. */
export function knownSignalName(number: number): string | undefined {
  return number > 0 ? SIGNAL_NAMES[number] : undefined;
}

/** The name of signal n; real-time and unknown numbers read as SIG<n>. */
export function signalName(number: number): string {
  return knownSignalName(number) ?? `SIG${number}`;
}

/**
 * An exit status split into the program's own exit code or the signal that killed it. Only a
 * standard signal's 128 + n counts as a kill: a program that itself exits with such a status
 * reads the same on both backends.
 */
export function splitExitStatus(status: number): { exitCode: number | null; signal: string | null } {
  const name = knownSignalName(status - 128);
  return name ? { exitCode: null, signal: name } : { exitCode: status, signal: null };
}

/** The number of a standard signal by name (SIGSEGV: 11), or undefined for an unknown name. */
export function signalNumber(name: string): number | undefined {
  const number = SIGNAL_NAMES.indexOf(name);
  return number > 0 ? number : undefined;
}
