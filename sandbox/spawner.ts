import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { type Readable, Writable } from 'node:stream';

// Starts the OCI runtime's processes through sandpod-spawner (sandbox/spawner/), one
// small long-lived process, instead of child_process: libuv forks the whole gateway for every
// process it starts, and that fork copies page tables in proportion to the gateway's memory
// while the event loop waits. The spawner posix_spawns the process with three pipes; the gateway
// opens its ends of them at /proc/<spawner>/fd/N, so output still flows straight from the
// program's pipes to the gateway, with no copy through the spawner. It removes bundles too: a
// walk of a dozen entries costs the gateway a promise and a thread-pool round trip per entry.

export interface ProcessExit {
  /** The exit status, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartedProcess {
  readonly pid: number;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Settles once the process is reaped; rejects if the spawner itself was lost before that. */
  readonly exit: Promise<ProcessExit>;
  kill(signal: NodeJS.Signals): void;
}

export interface FinishedProcess extends ProcessExit {
  stdout: string;
  stderr: string;
}

type Helper = ChildProcessByStdio<Writable, Readable, null>;

interface Pending {
  started(reply: { pid: number; fds: [number, number, number] }): void;
  failed(error: Error): void;
  exited?: (exit: ProcessExit) => void;
  lost?: (error: Error) => void;
}

const SIGNAL_NAMES = new Map(Object.entries(osConstants.signals).map(([name, number]) => [number, name]));
const ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([name, number]) => [number, name]));

/** A wait(2) status as Node reports a child's end. */
export function decodeWaitStatus(status: number): ProcessExit {
  const signal = status & 0x7f;
  if (signal === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: null, signal: (SIGNAL_NAMES.get(signal) ?? `SIG${signal}`) as NodeJS.Signals };
}

/** One request: a 4-byte little-endian length, then NUL-terminated fields. */
export function encodeFrame(fields: string[]): Buffer {
  const payload = Buffer.from(fields.map((field) => `${field}\0`).join(''));
  const frame = Buffer.allocUnsafe(4 + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  payload.copy(frame, 4);
  return frame;
}

/** Stands in for a stdin whose reader is already gone: what is written there is dropped. */
const discardingStdin = () => new Writable({ write: (_chunk, _encoding, done) => done() });

export class Spawner {
  private helper: Helper | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly removals = new Map<string, { resolve(): void; reject(error: Error): void }>();
  private nextId = 0;
  private received = '';

  constructor(private readonly binary: string) {}

  /** Starts `path` with `args` and exactly the environment `env`, its stdio over pipes. */
  start(path: string, args: string[], env: Record<string, string>): Promise<StartedProcess> {
    if (args.some((arg) => arg.includes('\0')) || Object.entries(env).some((pair) => pair.join('=').includes('\0'))) {
      return Promise.reject(new Error('an argument or environment entry contains a NUL byte'));
    }
    const helper = this.started();
    const id = String(this.nextId++);
    return new Promise<StartedProcess>((resolve, reject) => {
      this.pending.set(id, {
        started: ({ pid, fds }) => {
          try {
            resolve(this.attach(helper, id, pid, fds));
          } catch (error) {
            reject(error);
          }
        },
        failed: (error) => {
          this.pending.delete(id);
          reject(error);
        },
      });
      this.hold(helper);
      const envEntries = Object.entries(env).map(([name, value]) => `${name}=${value}`);
      helper.stdin.write(encodeFrame(['run', id, String(envEntries.length), ...envEntries, path, path, ...args]));
    });
  }

  /** Runs a command to its end and collects its output, as execFile does. */
  async run(path: string, args: string[], env: Record<string, string>): Promise<FinishedProcess> {
    const process = await this.start(path, args, env);
    process.stdin.end();
    const collect = (stream: Readable) =>
      new Promise<string>((resolve) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
      });
    const [stdout, stderr, exit] = await Promise.all([collect(process.stdout), collect(process.stderr), process.exit]);
    return { ...exit, stdout, stderr };
  }

  /** Removes a directory tree without following a symbolic link or crossing into a mount. */
  remove(path: string): Promise<void> {
    if (path.includes('\0') || !path.startsWith('/')) return Promise.reject(new Error(`refused to remove ${path}`));
    const helper = this.started();
    const id = String(this.nextId++);
    return new Promise<void>((resolve, reject) => {
      this.removals.set(id, { resolve, reject });
      this.hold(helper);
      helper.stdin.write(encodeFrame(['remove', id, path]));
    });
  }

  /** Ends the spawner; processes it started run on, as they would after the gateway. */
  close(): void {
    this.helper?.stdin.end();
    this.helper = undefined;
  }

  private attach(
    helper: Helper,
    id: string,
    pid: number,
    [stdinFd, stdoutFd, stderrFd]: [number, number, number],
  ): StartedProcess {
    const opened: number[] = [];
    const open = (fd: number, flags: number) => {
      const own = openSync(`/proc/${helper.pid}/fd/${fd}`, flags | fsConstants.O_NONBLOCK);
      opened.push(own);
      return own;
    };
    let stdin: Writable;
    let stdout: Socket;
    let stderr: Socket;
    try {
      stdout = new Socket({ fd: open(stdoutFd, fsConstants.O_RDONLY), readable: true, writable: false });
      stderr = new Socket({ fd: open(stderrFd, fsConstants.O_RDONLY), readable: true, writable: false });
      try {
        stdin = new Socket({ fd: open(stdinFd, fsConstants.O_WRONLY), readable: false, writable: true });
      } catch (error) {
        // No reader left: the process has already closed its stdin, or ended.
        if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error;
        stdin = discardingStdin();
      }
    } catch (error) {
      for (const fd of opened) closeSync(fd);
      helper.stdin.write(encodeFrame(['kill', id, String(osConstants.signals.SIGKILL)]));
      throw error;
    } finally {
      helper.stdin.write(encodeFrame(['open', id]));
    }
    // A process that exits without reading its input closes the pipe under us; that is its business.
    stdin.on('error', () => undefined);
    const exit = new Promise<ProcessExit>((resolve, reject) => {
      const entry = this.pending.get(id);
      if (!entry) return reject(new Error('the spawner forgot the process'));
      entry.exited = resolve;
      entry.lost = reject;
    });
    return {
      pid,
      stdin,
      stdout,
      stderr,
      exit,
      kill: (signal) => {
        if (this.helper === helper && this.pending.has(id)) {
          helper.stdin.write(encodeFrame(['kill', id, String(osConstants.signals[signal])]));
        }
      },
    };
  }

  private started(): Helper {
    if (this.helper) return this.helper;
    const helper = spawn(this.binary, [], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    helper.stdout.setEncoding('utf8');
    helper.stdout.on('data', (text: string) => this.receive(helper, text));
    const lose = (error: Error) => {
      if (this.helper === helper) this.helper = undefined;
      const lost = [...this.pending.values()];
      const removals = [...this.removals.values()];
      this.pending.clear();
      this.removals.clear();
      for (const entry of lost) {
        if (entry.lost) entry.lost(error);
        else entry.failed(error);
      }
      for (const removal of removals) removal.reject(error);
    };
    helper.on('error', (error) => lose(new Error(`sandpod-spawner could not start: ${error.message}`)));
    helper.on('exit', (code, signal) => lose(new Error(`sandpod-spawner exited (${signal ?? code})`)));
    helper.stdin.on('error', () => undefined);
    this.helper = helper;
    this.hold(helper);
    return helper;
  }

  private receive(helper: Helper, text: string): void {
    this.received += text;
    let newline = this.received.indexOf('\n');
    while (newline >= 0) {
      const [kind, id = '', ...values] = this.received.slice(0, newline).split(' ');
      this.received = this.received.slice(newline + 1);
      newline = this.received.indexOf('\n');
      const numbers = values.map(Number);
      const removal = kind === 'removed' ? this.removals.get(id) : undefined;
      if (removal) {
        this.removals.delete(id);
        const errno = numbers[0] ?? 0;
        if (errno === 0) removal.resolve();
        else removal.reject(new Error(`could not remove a bundle: ${ERRNO_NAMES.get(errno) ?? `errno ${errno}`}`));
        continue;
      }
      const entry = this.pending.get(id);
      if (!entry) continue;
      if (kind === 'started') {
        entry.started({ pid: numbers[0] ?? 0, fds: [numbers[1] ?? -1, numbers[2] ?? -1, numbers[3] ?? -1] });
      } else if (kind === 'failed') {
        const code = ERRNO_NAMES.get(numbers[0] ?? 0) ?? `errno ${values[0]}`;
        entry.failed(Object.assign(new Error(`could not start the process: ${code}`), { code }));
      } else if (kind === 'exited') {
        this.pending.delete(id);
        entry.exited?.(decodeWaitStatus(numbers[0] ?? 0));
      }
    }
    this.hold(helper);
  }

  /** The idle spawner must not keep the gateway's process alive; one with processes to report must. */
  private hold(helper: Helper): void {
    const busy = this.pending.size + this.removals.size > 0;
    for (const handle of [helper, helper.stdin, helper.stdout] as unknown as { ref(): void; unref(): void }[]) {
      if (busy) handle.ref();
      else handle.unref();
    }
  }
}
