import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

// Every execution mounts and unmounts its scratch tmpfs. Spawning `mount` from the gateway means
// forking a large process twice per run, on the event loop; one small shell, started once, runs
// the commands instead and answers each with its exit status. The commands carry only paths and
// options sandpod itself made; the shell never evaluates its input.

const SCRIPT = `
while IFS=' ' read -r op target options; do
  case "$op" in
    mount) out=$(mount -t tmpfs -o "$options" sandpod-scratch "$target" 2>&1) ;;
    umount) out=$(umount -l "$target" 2>&1) ;;
    *) out="unknown operation $op"; false ;;
  esac
  status=$?
  printf '%s %s\\n' "$status" "$(printf '%s' "$out" | tr '\\n' ' ')"
done`;

/** Paths and options are sandpod's own; a space or newline in them would split the command. */
const PLAIN = /^[^\s]+$/;

export class Mounter {
  private shell: ChildProcessWithoutNullStreams | undefined;
  private readonly waiting: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];

  mount(target: string, options: string): Promise<void> {
    return this.send('mount', target, options);
  }

  /** Lazily detached: a process holding a file open cannot keep the mount, or its memory, alive. */
  unmount(target: string): Promise<void> {
    return this.send('umount', target, '-');
  }

  close(): void {
    this.shell?.stdin.end();
    this.shell = undefined;
  }

  private async send(op: string, target: string, options: string): Promise<void> {
    if (!PLAIN.test(target) || !PLAIN.test(options)) throw new Error(`refused to ${op} ${JSON.stringify(target)}`);
    const shell = this.started();
    const answer = new Promise<string>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.hold(shell, true);
    shell.stdin.write(`${op} ${target} ${options}\n`);
    const line = await answer.finally(() => {
      if (this.waiting.length === 0) this.hold(shell, false);
    });
    const [status, ...message] = line.split(' ');
    if (status !== '0') throw new Error(`${op} ${target} failed: ${message.join(' ').trim() || `status ${status}`}`);
  }

  private started(): ChildProcessWithoutNullStreams {
    if (this.shell) return this.shell;
    const shell = spawn('/bin/bash', ['-c', SCRIPT], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    createInterface({ input: shell.stdout }).on('line', (line) => this.waiting.shift()?.resolve(line));
    const fail = (error: Error) => {
      if (this.shell === shell) this.shell = undefined;
      for (const pending of this.waiting.splice(0)) pending.reject(error);
    };
    shell.on('error', fail);
    shell.on('exit', (code) => fail(new Error(`the mount helper exited with ${code}`)));
    shell.stdin.on('error', () => undefined);
    this.hold(shell, false);
    this.shell = shell;
    return shell;
  }

  /** The idle helper must not keep the gateway's process alive; one with work pending must. */
  private hold(shell: ChildProcessWithoutNullStreams, busy: boolean): void {
    for (const handle of [shell, shell.stdin, shell.stdout, shell.stderr] as unknown as {
      ref(): void;
      unref(): void;
    }[]) {
      if (busy) handle.ref();
      else handle.unref();
    }
  }
}
