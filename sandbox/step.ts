import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Limits, type StepReport, type Stream, splitExitStatus, type Usage } from '../contract/index.js';
import type { StepCgroup } from './cgroups.js';
import type { OciRuntime } from './oci-runtime.js';
import { stepSpecJson } from './oci-spec.js';
import type { ProcessExit, StartedProcess } from './spawner.js';

// One sandboxed step (compile or run): an OCI bundle run in the foreground by the runtime, with
// stdio over pipes, a wall deadline, CPU time polled from the step's cgroup, and an output cap.

export type LimitHit = 'wall' | 'cpu' | 'output';

export interface StepOutcome {
  exitCode: number | null;
  signal: string | null;
  wallMs: number;
  cpuMs: number;
  /** The step's memory high-water mark, from its cgroup. */
  memoryPeakBytes: number;
  limitHit: LimitHit | null;
  cancelled: boolean;
  oomKilled: boolean;
  pidsLimitReached: boolean;
  /** The runtime failed before the program ran; the program is not to blame. */
  systemError: string | null;
}

export interface StepOptions {
  containerId: string;
  bundleDir: string;
  spec: Record<string, unknown>;
  runtime: OciRuntime;
  cgroup: StepCgroup;
  limits: Pick<Limits, 'wallTimeMs' | 'cpuTimeMs'>;
  /** Bytes of stdout and stderr together this step may still write. */
  outputBudget: number;
  onOutput(stream: Stream, chunk: Buffer): void;
  cpuPollMs: number;
}

/** The step's end as both backends judge it (contract/verdict.ts). */
export function stepReport(outcome: StepOutcome): StepReport {
  // The kernel's OOM kill counts only when it ended the program, not a helper it had started.
  const memory = outcome.oomKilled && outcome.exitCode !== 0;
  return {
    cancelled: outcome.cancelled,
    startError: outcome.systemError,
    limitHit: outcome.limitHit ?? (memory ? 'memory' : null),
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    cpuMs: outcome.cpuMs,
    pidsLimitReached: outcome.pidsLimitReached,
  };
}

/** The runtime's exit as one status: its own exit code, or 128+9 when something killed it. */
function exitStatus(exit: ProcessExit): number {
  return exit.code ?? 128 + 9;
}

async function runtimeError(logFile: string): Promise<string> {
  const log = await readFile(logFile, 'utf8').catch(() => '');
  const messages = log
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        const entry = JSON.parse(line) as { level?: string; msg?: string };
        return entry.level === 'error' || entry.level === 'fatal' ? entry.msg : undefined;
      } catch {
        return line;
      }
    })
    .filter(Boolean);
  return messages.at(-1) ?? 'the OCI runtime failed without a message';
}

const MiB = 1024 * 1024;

/** What the step used, as the contract reports it: MiB to a tenth. */
export function stepUsage(outcome: StepOutcome): Usage {
  return {
    cpuTimeMs: outcome.cpuMs,
    wallTimeMs: outcome.wallMs,
    memoryPeakMiB: Math.round((outcome.memoryPeakBytes / MiB) * 10) / 10,
  };
}

export class SandboxStep {
  private child: StartedProcess | undefined;
  private limitHit: LimitHit | null = null;
  private cancelled = false;
  private exited = false;
  private outputLeft: number;
  private readonly pendingStdin: (string | null)[] = [];
  private disposal: Promise<void> = Promise.resolve();

  constructor(private readonly options: StepOptions) {
    this.outputLeft = options.outputBudget;
  }

  /** Queues input for the program; `null` closes its stdin. Sent once the program starts. */
  stdin(data: string | null): void {
    const stdin = this.child?.stdin;
    if (!stdin) {
      this.pendingStdin.push(data);
      return;
    }
    if (stdin.destroyed || stdin.writableEnded) return;
    if (data === null) stdin.end();
    else stdin.write(data);
  }

  cancel(): void {
    this.cancelled = true;
    void this.stop();
  }

  async run(): Promise<StepOutcome> {
    const { containerId, bundleDir, runtime, cgroup, limits } = this.options;
    // A directory and one small file: written directly, as the scratch is staged.
    mkdirSync(bundleDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(bundleDir, 'config.json'), stepSpecJson(this.options.spec));
    const pidFile = join(bundleDir, 'init.pid');
    const logFile = join(bundleDir, 'runtime.log');

    const started = performance.now();
    let child: StartedProcess;
    try {
      child = await runtime.start(containerId, bundleDir, pidFile, logFile);
    } catch (error) {
      this.exited = true;
      return this.failedToStart(error as Error, performance.now() - started);
    }
    this.child = child;
    for (const data of this.pendingStdin.splice(0)) this.stdin(data);
    if (this.cancelled) void this.stop();

    const wallTimer = setTimeout(() => this.hit('wall'), limits.wallTimeMs);
    const cpuTimer = setInterval(() => {
      cgroup.cpuTimeMs().then(
        (cpuMs) => cpuMs > limits.cpuTimeMs && this.hit('cpu'),
        () => undefined,
      );
    }, this.options.cpuPollMs);

    const streamsClosed = Promise.all(
      (['stdout', 'stderr'] as const).map(
        (stream) =>
          new Promise<void>((resolve) => {
            const pipe = child[stream];
            pipe.on('data', (chunk: Buffer) => this.output(stream, chunk));
            pipe.on('close', resolve);
          }),
      ),
    );
    let lostError: string | null = null;
    const status = await child.exit.then(
      (exit) => exitStatus(exit),
      (error: Error) => {
        lostError = error.message;
        return null;
      },
    );
    this.exited = true;
    const wallMs = performance.now() - started;
    clearTimeout(wallTimer);
    clearInterval(cpuTimer);
    await streamsClosed;
    // The program is gone; an interactive client that never sent EOF would otherwise keep this
    // pipe's end open in the gateway for good, one descriptor per execution.
    child.stdin.destroy();

    const [cpuMs, memoryPeakBytes, memoryLimitHit, pidsLimitReached] = await Promise.all([
      cgroup.cpuTimeMs().catch(() => 0),
      cgroup.memoryPeakBytes().catch(() => 0),
      cgroup.memoryLimitHit().catch(() => false),
      cgroup.pidsLimitReached().catch(() => false),
    ]);
    if (cpuMs > limits.cpuTimeMs && this.limitHit === null) this.limitHit = 'cpu';
    const programStarted = existsSync(pidFile);
    // A limit or a cancel that stopped the runtime while it was still starting the program makes it
    // fail ("container process is already dead"): that is the stop's doing, not the platform's.
    const stoppedByUs = this.cancelled || this.limitHit !== null;
    const systemError = lostError ?? (programStarted || stoppedByUs ? null : await runtimeError(logFile));
    // The outcome is known; tearing down goes on while the caller reports it.
    this.disposal = this.cleanUp(programStarted);
    const { exitCode, signal } = status === null ? { exitCode: null, signal: null } : splitExitStatus(status);
    return {
      exitCode,
      signal,
      wallMs: Math.round(wallMs),
      cpuMs: Math.round(cpuMs),
      memoryPeakBytes,
      limitHit: this.limitHit,
      cancelled: this.cancelled,
      oomKilled: memoryLimitHit && status === 128 + 9,
      pidsLimitReached,
      systemError,
    };
  }

  /** The runtime could not be started, or its pipes not opened (then it was killed at once). */
  private failedToStart(error: Error, wallMs: number): StepOutcome {
    // A runtime killed that early may still have left its container: cleaning up checks.
    this.disposal = this.cleanUp(true);
    return {
      exitCode: null,
      signal: null,
      wallMs: Math.round(wallMs),
      cpuMs: 0,
      memoryPeakBytes: 0,
      limitHit: null,
      cancelled: this.cancelled,
      oomKilled: false,
      pidsLimitReached: false,
      systemError: `the OCI runtime could not be started: ${error.message}`,
    };
  }

  private output(stream: Stream, chunk: Buffer): void {
    if (chunk.length > this.outputLeft) {
      // Output exactly at the cap is fine; one byte past it is not.
      if (this.outputLeft > 0) this.options.onOutput(stream, chunk.subarray(0, this.outputLeft));
      this.outputLeft = 0;
      this.hit('output');
      return;
    }
    this.outputLeft -= chunk.length;
    this.options.onOutput(stream, chunk);
  }

  private hit(limit: LimitHit): void {
    if (this.limitHit !== null || this.cancelled || this.exited) return;
    this.limitHit = limit;
    void this.stop();
  }

  /**
   * Kills the step's init; its pid namespace takes every descendant down with it. A runtime that
   * cannot be made to kill its container is itself killed, and the tear-down then kills whatever
   * is left in the step's cgroup, so a slot is never held by a hung runtime.
   */
  private async stop(): Promise<void> {
    for (let attempt = 0; !this.exited && attempt < 50; attempt++) {
      if (this.child) await this.options.runtime.kill(this.options.containerId).catch(() => undefined);
      if (this.exited) return;
      await new Promise((resolve) => setTimeout(resolve, attempt < 10 ? 20 : 100));
    }
    if (!this.exited) this.child?.kill('SIGKILL');
  }

  /** Resolves once the step's container and bundle are gone and its cgroup slot is free again. */
  disposed(): Promise<void> {
    return this.disposal;
  }

  private async cleanUp(programStarted: boolean): Promise<void> {
    // The runtime deletes a container it ran in the foreground; only a killed runtime leaves one.
    if (programStarted && (await this.options.runtime.hasState(this.options.containerId))) {
      await this.options.runtime.forceDelete(this.options.containerId).catch(() => undefined);
    }
    await this.options.cgroup.release();
    await this.options.runtime.removeBundle(this.options.bundleDir);
  }
}
