import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type winston from 'winston';
import {
  compileVerdict,
  type ExecutionResult,
  judgeStep,
  type Limits,
  type Phase,
  type ProgramEnvName,
  phaseFor,
  runVerdict,
  type SourceFile,
  type Stream,
  skippedTest,
  type TestCase,
  type TestOutcome,
  testName,
  testPassed,
  testsVerdict,
  type Verdict,
} from '../../contract/index.js';
import type { CgroupDriver, StepCgroup } from '../../sandbox/cgroups.js';
import type { OciRuntime } from '../../sandbox/oci-runtime.js';
import { buildStepSpec, type SeccompProfile, type StepScratch } from '../../sandbox/oci-spec.js';
import type { RootfsLayout } from '../../sandbox/rootfs.js';
import type { SandboxUsers } from '../../sandbox/sandbox-users.js';
import { freshRunScratch, inodesFor, type Scratch, stageFiles, stageScratch } from '../../sandbox/scratch.js';
import type { ScratchPool } from '../../sandbox/scratch-pool.js';
import { SandboxStep, type StepOutcome, stepReport, stepUsage } from '../../sandbox/step.js';
import type { ExecutionSpec } from '../backend.js';
import type { Runtime } from './catalog.js';
import { Journal } from './journal.js';
import { type ExecutionState, judgedResult, runResult, testOutcome } from './result.js';

/** What every execution on this machine shares: the runtime, the root, the policy. */
export interface SandboxEnvironment {
  ociRuntime: OciRuntime;
  cgroups: CgroupDriver;
  rootfs: RootfsLayout;
  seccomp: SeccompProfile;
  stateDir: string;
  scratchPool: ScratchPool;
  users: SandboxUsers;
  gid: number;
  /** Whether read-only binds are read-only, nosuid and nodev below too (sandbox/mount-flags.ts). */
  recursiveMountFlags: boolean;
  cpus: number;
  compileLimits: Limits;
  log: winston.Logger;
}

const BASE_ENV: Record<ProgramEnvName, string> = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: '/work',
  TMPDIR: '/tmp',
  LANG: 'C.UTF-8',
};
const OPEN_FILES = 256;
const CPU_POLL_MS = 25;

/**
 * Where a step's scratch comes from: a tmpfs on the host that every step of the execution shares,
 * or one the OCI runtime mounts for the step alone, filled with the request's files.
 */
type ScratchSource = { kind: 'host'; scratch: Scratch } | { kind: 'runtime'; files: SourceFile[] };

/** What a finished execution costs beyond its text: the result's fields, the journal's entries. */
const RESULT_OVERHEAD_BYTES = 2048;
const JOURNAL_ENTRY_BYTES = 64;

export class Execution {
  readonly journal = new Journal();
  readonly createdAt = new Date();
  private phase: Phase = 'Pending';
  private startedAt: Date | null = null;
  private current: { step: SandboxStep; isRunStep: boolean } | undefined;
  private cancelRequested = false;
  private readonly pendingStdin: (string | null)[] = [];
  /** Tear-downs of finished steps, awaited before the scratch space goes. */
  private readonly disposals: Promise<void>[] = [];
  /**
   * The cgroup slots of finished steps, handed back only once the scratch space is gone: its tmpfs
   * pages stay charged to the slot of the step that wrote them until it is unmounted, and would
   * count against the memory limit of the next step given that slot.
   */
  private readonly slotReleases: (() => Promise<void>)[] = [];
  /** The host user of this execution's programs, its own while it runs (see sandbox-users.ts). */
  private uid = -1;
  private stdinClosed = false;
  private readonly log: winston.Logger;
  /**
   * The request (up to the body limit, megabytes) until the execution ends; a finished result
   * stays readable for an hour and needs none of it.
   */
  private spec: ExecutionSpec | undefined;
  readonly interactive: boolean;

  constructor(
    readonly id: string,
    readonly tenant: string,
    spec: ExecutionSpec,
    private readonly runtime: Runtime,
    private readonly env: SandboxEnvironment,
    /** Told once, when the result is final (before the sandbox is torn down). */
    private readonly onFinished: (execution: Execution) => void = () => undefined,
  ) {
    this.log = env.log.child({ execution: id, tenant, runtime: runtime.name });
    this.spec = spec;
    this.interactive = spec.interactive === true;
    this.journal.status('Pending');
  }

  get result(): ExecutionResult {
    return this.journal.finished ?? this.snapshot();
  }

  /**
   * Bytes this execution holds, at most: its text (each test's output included) at two bytes a
   * character (V8 stores a string with any character past Latin-1 that way), its journal and the
   * result's other fields. The request is not counted: it is dropped when the execution ends.
   */
  get heldBytes(): number {
    const text = this.journal.text.stdout.length + this.journal.text.stderr.length;
    const testText = this.testOutcomes.reduce((total, test) => total + test.stdout.length + test.stderr.length, 0);
    const compileOutput = this.compileOutcome?.output.length ?? 0;
    return (
      2 * (text + testText + compileOutput) +
      JOURNAL_ENTRY_BYTES * this.journal.entryCount +
      RESULT_OVERHEAD_BYTES * (1 + this.testOutcomes.length)
    );
  }

  /** The request, while the execution has not ended. */
  private get request(): ExecutionSpec {
    if (!this.spec) throw new Error(`execution ${this.id} has ended; its request is gone`);
    return this.spec;
  }

  get isStdinClosed(): boolean {
    return this.stdinClosed;
  }

  stdin(data: string | null): void {
    if (this.stdinClosed) return;
    if (data === null) this.stdinClosed = true;
    if (this.current?.isRunStep) this.current.step.stdin(data);
    else this.pendingStdin.push(data);
  }

  /** Ends a queued execution at once; a running one once its sandbox is down. */
  cancel(): void {
    this.cancelRequested = true;
    this.current?.step.cancel();
  }

  /** Runs to the end. Never throws: a failure of the platform becomes a SystemError result. */
  async run(): Promise<ExecutionResult> {
    if (this.cancelRequested) return this.finish({ reason: 'Cancelled', message: 'cancelled before it started' });
    this.startedAt = new Date();
    this.setPhase('Running');
    let scratch: Scratch | undefined;
    let uid: number | undefined;
    try {
      // Taken for the whole execution, both steps: the compile step's files belong to it too.
      uid = this.env.users.acquire();
      this.uid = uid;
      const files = this.request.files ?? [{ name: this.runtime.fileName, content: this.request.source ?? '' }];
      // A single step needs no scratch that outlives it, so the runtime mounts it when it can: no
      // mount and unmount on the host for every run.
      if (!this.runtime.compile && this.env.ociRuntime.mountsScratch) {
        const source = { kind: 'runtime', files } as const;
        const tests = this.request.tests;
        return await (tests ? this.runTests(tests, () => source) : this.runProgram(source));
      }
      scratch = await this.env.scratchPool.acquire(this.request.limits.diskMiB, uid, this.env.gid);
      stageFiles(scratch.work, files, uid, this.env.gid);
      const source = { kind: 'host', scratch } as const;
      const compileFailure = this.runtime.compile ? await this.compile(source, this.runtime.compile) : null;
      if (compileFailure) return this.finish(compileFailure);
      const tests = this.request.tests;
      if (!tests) return await this.runProgram(source);
      const compiled = scratch;
      const runUid = uid;
      return await this.runTests(tests, async (index) => ({
        kind: 'host',
        scratch: await freshRunScratch(compiled, String(index), runUid, this.env.gid),
      }));
    } catch (error) {
      this.log.error('Failed to run execution', { error: (error as Error).message });
      return this.finish({ reason: 'SystemError', message: `the sandbox failed: ${(error as Error).message}` });
    } finally {
      const disposals = this.disposals
        .splice(0)
        .map((disposal) =>
          disposal.catch((error: Error) => this.log.error('Failed to tear down step', { error: error.message })),
        );
      await Promise.all(disposals);
      await scratch
        ?.release()
        .catch((error: Error) => this.log.error('Failed to release scratch', { error: error.message }));
      const slots = this.slotReleases
        .splice(0)
        .map((release) =>
          release().catch((error: Error) => this.log.error('Failed to release cgroup slot', { error: error.message })),
        );
      await Promise.all(slots);
      if (uid !== undefined) this.env.users.release(uid);
    }
  }

  private compileOutcome: ExecutionResult['compile'];
  private runOutcome: StepOutcome | undefined;

  private async compile(scratch: ScratchSource, argv: string[]): Promise<Verdict | null> {
    const limits = compileLimitsOf(this.runtime, this.env.compileLimits);
    let output = '';
    const decoder = new StringDecoder('utf8');
    const outcome = await this.step('compile', scratch, argv, limits, (_stream, chunk) => {
      output += decoder.write(chunk);
    });
    output += decoder.end();
    this.compileOutcome = {
      exitCode: outcome.exitCode,
      durationMs: outcome.wallMs,
      output,
      usage: stepUsage(outcome),
    };
    this.log.info('Compiled program', {
      exitCode: outcome.exitCode,
      durationMs: outcome.wallMs,
      limitHit: outcome.limitHit,
    });
    return compileVerdict(stepReport(outcome), limits);
  }

  private async runProgram(scratch: ScratchSource): Promise<ExecutionResult> {
    const request = this.request;
    const argv = [
      ...(this.interactive ? this.runtime.interactiveRun : []),
      ...this.runtime.run,
      ...(request.args ?? []),
    ];
    const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
    if (!this.interactive) {
      if (request.stdin) this.pendingStdin.unshift(request.stdin);
      this.pendingStdin.push(null);
    } else if (request.stdin) {
      this.pendingStdin.unshift(request.stdin);
    }
    const outcome = await this.step('run', scratch, argv, request.limits, (stream, chunk) => {
      this.journal.output(stream, decoders[stream].write(chunk));
    });
    for (const stream of ['stdout', 'stderr'] as const) this.journal.output(stream, decoders[stream].end());
    this.runOutcome = outcome;
    const verdict = runVerdict(stepReport(outcome), request.limits);
    return this.finish(judgeStep(verdict, this.journal.text.stdout, request.expectedOutput, request.compare));
  }

  private readonly testOutcomes: TestOutcome[] = [];
  private judged = false;

  /**
   * Runs the program once per test, each in a step of its own on a fresh scratch; with
   * stopOnFirstFailure, the tests after the first that did not pass are skipped. The request is
   * held here until the last test ran: finish() drops the execution's own reference to it.
   */
  private async runTests(
    tests: TestCase[],
    scratchFor: (index: number) => ScratchSource | Promise<ScratchSource>,
  ): Promise<ExecutionResult> {
    const request = this.request;
    this.judged = true;
    for (const [index, test] of tests.entries()) {
      const name = testName(test, index);
      const stopped = this.testOutcomes.some((done) => !testPassed(done.reason)) && request.stopOnFirstFailure;
      if (stopped || this.cancelRequested) {
        this.testOutcomes.push(skippedTest(name));
        continue;
      }
      const source = await scratchFor(index);
      const disposalsBefore = this.disposals.length;
      const slotsBefore = this.slotReleases.length;
      try {
        this.testOutcomes.push(await this.runTest(request, name, test, source));
      } finally {
        // The step's own tear-down first: its container may still hold the scratch's mounts.
        const disposals = this.disposals.splice(disposalsBefore);
        for (const disposal of disposals) {
          await disposal.catch((error: Error) => this.log.error('Failed to tear down step', { error: error.message }));
        }
        if (source.kind === 'host') await source.scratch.release();
        // The test's pages went with its own scratch (or its container's), so its slot is free now
        // rather than one slot held per test until the execution ends.
        for (const release of this.slotReleases.splice(slotsBefore)) {
          await release().catch((error: Error) =>
            this.log.error('Failed to release cgroup slot', { error: error.message }),
          );
        }
      }
    }
    if (this.cancelRequested) return this.finish({ reason: 'Cancelled', message: 'cancelled while running tests' });
    return this.finish(testsVerdict(this.testOutcomes));
  }

  private async runTest(
    request: ExecutionSpec,
    name: string,
    test: TestCase,
    source: ScratchSource,
  ): Promise<TestOutcome> {
    const argv = [...this.runtime.run, ...(test.args ?? request.args ?? [])];
    const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
    const output = { stdout: '', stderr: '' };
    this.pendingStdin.push(test.stdin ?? '', null);
    const outcome = await this.step('run', source, argv, request.limits, (stream, chunk) => {
      output[stream] += decoders[stream].write(chunk);
    });
    for (const stream of ['stdout', 'stderr'] as const) output[stream] += decoders[stream].end();
    return testOutcome(name, outcome, output, test, request);
  }

  private async step(
    name: 'compile' | 'run',
    scratch: ScratchSource,
    argv: string[],
    limits: Limits,
    onOutput: (stream: Stream, chunk: Buffer) => void,
  ): Promise<StepOutcome> {
    const stepId = `${this.id}-${name}-${randomBytes(3).toString('hex')}`;
    const bundleDir = join(this.env.stateDir, 'bundles', stepId);
    let cgroup: StepCgroup | undefined;
    let spec: Record<string, unknown>;
    try {
      // Both settle before anything is judged, so a failure of one never leaves the other unseen.
      // The slot's reads and writes go to the thread pool first; staging runs while they do.
      const [created, staged] = await Promise.allSettled([
        this.env.cgroups.acquire(stepId, {
          memoryMiB: limits.memoryMiB,
          pids: limits.pids + this.env.ociRuntime.hostPidsOverhead,
          cpus: this.env.cpus,
        }),
        this.stepScratch(scratch, bundleDir, limits.diskMiB),
      ]);
      if (created.status === 'fulfilled') cgroup = this.heldUntilScratchGone(created.value);
      else throw created.reason;
      if (staged.status === 'rejected') throw staged.reason;
      const stepScratch = staged.value;
      spec = buildStepSpec({
        argv,
        env: BASE_ENV,
        uid: this.uid,
        gid: this.env.gid,
        rootfsPath: this.env.rootfs.rootfsPath,
        readOnlyBinds: this.env.rootfs.readOnlyBinds,
        recursiveMountFlags: this.env.recursiveMountFlags,
        scratch: stepScratch,
        cgroupsPath: cgroup.containerPath,
        seccomp: this.env.seccomp,
        openFiles: OPEN_FILES,
        pids: limits.pids,
      });
    } catch (error) {
      // Nothing has run yet: whatever was made for the step goes now, or nothing would remove it.
      await Promise.allSettled([cgroup?.release(), this.env.ociRuntime.removeBundle(bundleDir)]);
      throw error;
    }
    const step = new SandboxStep({
      containerId: `sandpod-${stepId}`,
      bundleDir,
      spec,
      runtime: this.env.ociRuntime,
      cgroup,
      limits,
      outputBudget: limits.outputBytes,
      onOutput,
      cpuPollMs: CPU_POLL_MS,
    });
    const isRunStep = name === 'run';
    this.current = { step, isRunStep };
    if (isRunStep) for (const data of this.pendingStdin.splice(0)) step.stdin(data);
    if (this.cancelRequested) step.cancel();
    try {
      return await step.run();
    } finally {
      this.current = undefined;
      this.disposals.push(step.disposed());
    }
  }

  /** The slot as the step sees it: releasing it only queues its release for the end of run(). */
  private heldUntilScratchGone(slot: StepCgroup): StepCgroup {
    let queued = false;
    return {
      ...slot,
      release: async () => {
        if (queued) return;
        queued = true;
        this.slotReleases.push(() => slot.release());
      },
    };
  }

  /** The step's scratch for its OCI spec; a runtime-mounted one is staged in the bundle first. */
  private async stepScratch(source: ScratchSource, bundleDir: string, diskMiB: number): Promise<StepScratch> {
    if (source.kind === 'host') {
      const { work, tmp, shm } = source.scratch;
      return { kind: 'host', work, tmp, shm };
    }
    mkdirSync(bundleDir, { mode: 0o700 });
    const stagedDir = join(bundleDir, 'scratch');
    stageScratch(stagedDir, source.files, this.uid, this.env.gid);
    return { kind: 'runtime', stagedDir, sizeMiB: diskMiB, inodes: inodesFor(diskMiB) };
  }

  private setPhase(phase: Phase): void {
    this.phase = phase;
    this.journal.status(phase);
  }

  private finish(verdict: Verdict): ExecutionResult {
    if (this.journal.finished) return this.journal.finished;
    const phase = phaseFor(verdict.reason);
    this.phase = phase;
    this.journal.status(phase);
    const result = this.snapshot(verdict, new Date());
    this.spec = undefined;
    this.pendingStdin.splice(0);
    this.journal.finish(result);
    this.onFinished(this);
    this.log.info('Finished execution', {
      reason: verdict.reason,
      exitCode: result.exitCode,
      durationMs: result.durationMs,
    });
    return result;
  }

  private snapshot(verdict?: Verdict, finishedAt?: Date): ExecutionResult {
    const state: ExecutionState = {
      id: this.id,
      runtime: this.runtime.name,
      phase: this.phase,
      createdAt: this.createdAt,
      startedAt: this.startedAt,
      ...(this.compileOutcome ? { compile: this.compileOutcome } : {}),
    };
    return this.judged
      ? judgedResult(state, this.testOutcomes, verdict, finishedAt)
      : runResult(state, this.runOutcome, this.journal.text, verdict, finishedAt);
  }
}

/** The runtime's own compile limits over the configured ones, as the operator does in a pod. */
function compileLimitsOf(runtime: Runtime, configured: Limits): Limits {
  const limits = { ...configured };
  for (const [name, value] of Object.entries(runtime.compileLimits ?? {}) as [keyof Limits, number | undefined][]) {
    if (value !== undefined) limits[name] = value;
  }
  return limits;
}
