import type { KubeConfig } from '@kubernetes/client-node';
import type winston from 'winston';
import { STDIN_GATE_BYTE, STDIN_GATE_MS } from '../../contract/live-gate.js';
import { CONTAINER, type ExecutionObject } from '../../contract/objects.js';
import { type AttachEnd, AttachSocket } from '../../kube/attach-socket.js';
import type { ObjectWatch } from '../../kube/watched-objects.js';
import { errorMessage } from '../../observability/logger.js';
import { encodeLiveStdin } from '../../sandbox/launcher/bundle.js';
import { ApiError } from '../errors.js';
import { ExecutionChanges } from './execution-changes.js';
import type { ExecutionRef } from './names.js';
import { OutputWindow } from './output-window.js';
import type { StdinItem as PendingItem, PendingStdinStore } from './pending-stdin.js';
import { stdinClosed } from './pending-stdin.js';
import { hasPod, podNameOf, RetryDelays } from './pod-start.js';
import { isFinished } from './result.js';
import { WarmAttachStdout } from './warm-prefix.js';

// The attach this replica holds to an interactive execution's run container: its stdin, and, when
// this replica created the execution, all of its output as it is written, prompts without a
// newline included (the container log holds a line back until it ends).
//
// The attach is opened as soon as the pod exists and opened again while the container starts;
// the status channel tells a refused attach (nothing reached the container) from one that worked,
// so input is kept until then and sent again after a refusal, never lost and never doubled.
// containerd gives an attach only what is written after it joined, so the replica that creates an
// execution sends the gate first (contract/live-gate.ts): the launcher starts the program only
// then, and this attach sees every byte of it.
//
// The run container's stdin is shared by every attach and stays open when one ends
// (status.stdinRecords, and every warm pod): input goes there as records the launcher reads
// (sandbox/launcher/bundle.ts, encodeLiveStdin), the gate as an open record, the end of stdin as
// an end record, so an attach that dies never ends the program's input. A pod of an operator
// before status.stdinRecords has stdinOnce: the gate is a byte, and the end of stdin closes it.
// A warm pod's launcher shares that stdin with the operator's attach that delivered the program;
// the operator names the pod in status only once the launcher has its program, so nothing of this
// attach can mix into it. Its stdout starts with the launcher's frames, which are left out of the
// output (warm-prefix.ts).
//
// An ack of input means it will reach the program, whichever replica lives on: input that comes
// while no attach of this replica has settled on the container is kept in the Execution
// (pending-stdin.ts) before the ack, and taken from there by the first replica whose attach
// settles; only while this replica's settled attach has taken all of it does input go straight
// to the attach. Input is handled one piece at a time, so a piece never overtakes an earlier one.

export const finished = () => new ApiError(409, 'finished', 'the execution has finished');
export { stdinClosed };

/**
 * How long after it began creating the Execution this replica may still send the gate: less than
 * the launcher waits from its own start (which comes later), by a margin for the byte's way there.
 */
export const GATE_CUTOFF_MS = STDIN_GATE_MS - 1000;

/**
 * An attach the API server drops without a status (code 1006) this soon after it opened, before
 * any output came, never reached the container: while the pod starts, the API server cuts some
 * attaches so instead of answering with a Failure. Its input is sent again on the next one. The
 * end of stdin waits this long (or for output) before it goes, so it never follows input into
 * such an attach and never reaches the program twice.
 */
export const ATTACH_SETTLE_MS = 500;

export interface LiveAttachContext {
  kubeConfig: KubeConfig;
  /** Input kept in the Execution until an attach that reached the container takes it. */
  pending: PendingStdinStore;
  executions: ObjectWatch<ExecutionObject>;
  /** The Execution now, from the watch's cache or else the API server. */
  read(ref: ExecutionRef): Promise<ExecutionObject | undefined>;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  windowBytes: number;
  log: winston.Logger;
  /** Milliseconds on a monotonic clock. */
  nowMs?: () => number;
}

export interface LiveAttachOptions {
  /** Send the gate and keep the output: only the replica that creates the execution does. */
  gate: boolean;
  /** When this replica began creating the Execution, on the `nowMs` clock. */
  originMs: number;
}

type StdinItem = Buffer | 'gate' | 'end';

const toItem = (item: PendingItem): StdinItem => (typeof item === 'string' ? Buffer.from(item, 'utf8') : 'end');

/** Wait before taking pending input again after the API server failed a take. */
const TAKE_RETRY_MS = 1000;

export class LiveAttach {
  /** All output as it is written, when this attach gates the program. */
  readonly output: OutputWindow | undefined;
  /** Input sent over the current attach (or none yet): sent again if the attach is refused. */
  private readonly unconfirmed: StdinItem[] = [];
  /** The gate is (or was) sent: false without one, or once it was dropped as too late. */
  private gated: boolean;
  private socket: AttachSocket | undefined;
  /** The current attach has shown that it reached the container (output, or time without a cut). */
  private settled = false;
  private state: 'connecting' | 'attached' | 'done' | 'lost' = 'connecting';
  private stdinEnded = false;
  /** The current attach settled and took all pending input: input may go straight to it. */
  private flowing = false;
  /** A take of pending input is queued and has not begun. */
  private takeQueued = false;
  /** Input and takes, one after another. */
  private queue: Promise<void> = Promise.resolve();
  private readonly stopping = new AbortController();
  private readonly nowMs: () => number;
  /** The current attach is to a launcher that reads records (status.stdinRecords or warm). */
  private records = false;
  /** A warm pod's stdout as the current attach gets it, the launcher's frames left out. */
  private warmStdout: WarmAttachStdout | undefined;

  constructor(
    private readonly ctx: LiveAttachContext,
    private readonly ref: ExecutionRef,
    private readonly options: LiveAttachOptions,
    onGone: () => void,
  ) {
    this.nowMs = ctx.nowMs ?? (() => performance.now());
    this.output = options.gate ? new OutputWindow(ctx.windowBytes) : undefined;
    this.gated = options.gate;
    if (options.gate) this.unconfirmed.push('gate');
    void this.run().then(
      () => onGone(),
      (error: unknown) => {
        ctx.log.error('Failed to hold the attach of an Execution', { execution: this.key, error: errorMessage(error) });
        this.end('lost');
        onGone();
      },
    );
  }

  /** Whether input can still be taken: the program runs, or is about to. */
  get usable(): boolean {
    return this.state === 'connecting' || this.state === 'attached';
  }

  get stdinClosed(): boolean {
    return this.stdinEnded;
  }

  /**
   * Sends input (`null`: end of file): straight to a settled attach that took all pending input,
   * else into the Execution's pending input; resolves once one of them holds it.
   */
  async send(data: string | null): Promise<void> {
    if (this.stdinEnded) throw stdinClosed();
    if (!this.usable) throw data === null ? stdinClosed() : finished();
    if (data === null) this.stdinEnded = true;
    try {
      await this.serially(async () => {
        if (!this.usable) throw data === null ? stdinClosed() : finished();
        if (this.flowing && this.socket) {
          this.deliver(data === null ? 'end' : Buffer.from(data, 'utf8'));
          return;
        }
        await this.ctx.pending.append(this.ref, data === null ? { end: true } : data);
        if (this.socket && this.isSettled(this.socket)) this.takeSoon(this.socket);
      });
    } catch (error) {
      // Not kept anywhere: the client may send the end again.
      if (data === null && !(error instanceof ApiError && error.code === 'stdin_closed')) this.stdinEnded = false;
      throw error;
    }
  }

  /** Takes pending input again (another replica may have left some): a client attached here. */
  resume(): void {
    if (this.socket && this.isSettled(this.socket)) {
      this.flowing = false;
      this.takeSoon(this.socket);
    }
  }

  close(): void {
    this.stopping.abort();
    this.socket?.close();
  }

  private get key(): string {
    return `${this.ref.namespace}/${this.ref.name}`;
  }

  private deliver(item: StdinItem): void {
    this.unconfirmed.push(item);
    if (this.socket) this.write(this.socket, item);
  }

  private write(socket: AttachSocket, item: StdinItem): void {
    // A stdin of records stays open: its end is a record, which may safely come twice.
    if (this.records) socket.send(encodeLiveStdin(item === 'gate' ? 'open' : item));
    else if (item === 'gate') socket.send(Buffer.from([STDIN_GATE_BYTE]));
    else if (item !== 'end') socket.send(item);
    else if (this.isSettled(socket)) socket.closeStdin();
    // Otherwise attachOnce sends it once the attach settled.
  }

  private isSettled(socket: AttachSocket): boolean {
    return this.settled || socket.sawOutput;
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const done = this.queue.then(work);
    this.queue = done.then(
      () => undefined,
      () => undefined,
    );
    return done;
  }

  /**
   * Queues a take of the pending input for `socket`, once it settled: what is taken is sent on at
   * once, after the gate and before any later input. A failed take is tried again while the
   * attach lasts.
   */
  private takeSoon(socket: AttachSocket): void {
    if (this.takeQueued) return;
    this.takeQueued = true;
    void this.serially(async () => {
      this.takeQueued = false;
      if (this.socket !== socket || this.flowing || !this.usable) return;
      let items: StdinItem[];
      try {
        items = (await this.ctx.pending.take(this.ref)).map(toItem);
      } catch (error) {
        this.ctx.log.warn('Failed to take the pending input of an Execution; trying again', {
          execution: this.key,
          error: errorMessage(error),
        });
        setTimeout(() => this.socket === socket && this.takeSoon(socket), TAKE_RETRY_MS).unref();
        return;
      }
      // Taken, so this replica alone sends it: on this attach, or kept for the next if it ended.
      for (const item of items) {
        if (item === 'end') this.stdinEnded = true;
        this.deliver(item);
      }
      if (items.length > 0) this.ctx.log.debug('Sent pending input on', { execution: this.key, items: items.length });
      if (this.socket === socket) this.flowing = true;
    });
  }

  private async run(): Promise<void> {
    const changes = new ExecutionChanges(this.ctx.executions, this.ref);
    const delays = new RetryDelays(this.ctx.retryDelayMs, this.ctx.maxRetryDelayMs);
    try {
      let execution = await this.ctx.read(this.ref);
      while (!this.stopping.signal.aborted) {
        if (!execution || isFinished(execution)) {
          this.end('done');
          return;
        }
        let waitMs: number | undefined;
        if (hasPod(execution)) {
          // A warm pod of an operator before status.stdinRecords reads records all the same.
          const warm = execution.status?.warm === true;
          const records = warm || execution.status?.stdinRecords === true;
          const outcome = await this.attachOnce(podNameOf(execution), { warm, records });
          if (outcome.kind !== 'refused') {
            this.end(outcome.kind === 'ended' ? 'done' : 'lost', outcome);
            return;
          }
          waitMs = delays.after(true);
          this.ctx.log.debug('Attach refused; trying again', {
            execution: this.key,
            reason: outcome.message,
            retryInMs: waitMs,
          });
        }
        const change = await changes.next(this.stopping.signal, waitMs);
        if (change) execution = 'deleted' in change ? undefined : change.execution;
      }
      this.end('lost');
    } finally {
      changes.close();
    }
  }

  private async attachOnce(pod: string, { warm, records }: { warm: boolean; records: boolean }): Promise<AttachEnd> {
    let socket: AttachSocket;
    const warmStdout = warm ? new WarmAttachStdout() : undefined;
    try {
      socket = await AttachSocket.open(
        this.ctx.kubeConfig,
        { namespace: this.ref.namespace, pod, container: CONTAINER.run },
        (stream, chunk) => {
          this.output?.add(stream, warmStdout && stream === 'stdout' ? warmStdout.push(chunk) : chunk);
          // Output (a warm launcher's frames included) shows the attach reached the container.
          if (!this.flowing && this.socket) this.takeSoon(this.socket);
        },
      );
    } catch (error) {
      // The API server refused the upgrade: nothing was sent.
      return { kind: 'refused', message: error instanceof Error ? error.message : String(error) };
    }
    this.records = records;
    this.warmStdout = warmStdout;
    // Checked once open, right before the gate would go: opening can take a while. A warm
    // launcher's frames tell whether this attach saw the whole run.
    if (!warm) this.lateGate();
    this.socket = socket;
    this.settled = false;
    this.flowing = false;
    this.state = 'attached';
    for (const item of this.unconfirmed) this.write(socket, item);
    const openedAtMs = this.nowMs();
    const settle = setTimeout(() => {
      this.settled = true;
      if (this.socket !== socket) return;
      if (!records && this.unconfirmed.at(-1) === 'end') socket.closeStdin();
      this.takeSoon(socket);
    }, ATTACH_SETTLE_MS);
    const stop = () => socket.close();
    this.stopping.signal.addEventListener('abort', stop, { once: true });
    try {
      const outcome = await socket.ended;
      if (outcome.kind === 'broken' && !socket.sawOutput && this.nowMs() - openedAtMs < ATTACH_SETTLE_MS) {
        return { kind: 'refused', message: outcome.message };
      }
      return outcome;
    } finally {
      clearTimeout(settle);
      this.stopping.signal.removeEventListener('abort', stop);
      this.socket = undefined;
      this.settled = false;
      this.flowing = false;
      if (this.usable) this.state = 'connecting';
    }
  }

  /**
   * Past the cutoff the launcher may have stopped waiting, and the program started before this
   * attach: the log tells the output instead. A late open record is dropped by the launcher, so it
   * still goes (the launcher may yet be waiting for it); a late gate byte would reach the program.
   */
  private lateGate(): void {
    if (!this.gated || this.nowMs() - this.options.originMs <= GATE_CUTOFF_MS) return;
    this.gated = false;
    if (!this.records) this.unconfirmed.shift();
    this.output?.end('partial');
    this.ctx.log.warn('Did not gate the program: its container started too late; its output comes from the log', {
      execution: this.key,
    });
  }

  private end(state: 'done' | 'lost', outcome?: AttachEnd): void {
    if (!this.usable) return;
    this.state = state;
    this.unconfirmed.length = 0;
    const rest = this.warmStdout?.end();
    if (rest) this.output?.add('stdout', rest);
    // Only an attach that gated the program and ran to its end saw all of the output.
    const sawAll = this.warmStdout ? this.warmStdout.sawRunStart : this.gated;
    this.output?.end(state === 'done' && outcome?.kind === 'ended' && sawAll ? 'complete' : 'partial');
    if (state === 'lost' && outcome?.kind === 'broken') {
      this.ctx.log.warn('Lost the attach of an Execution', { execution: this.key, reason: outcome.message });
    }
  }
}
