import { PassThrough } from 'node:stream';
import { Attach, type KubeConfig } from '@kubernetes/client-node';
import type winston from 'winston';
import type { ExecutionObject } from '../../contract/objects.js';
import { CONTAINER } from '../../contract/objects.js';
import type { ObjectWatch } from '../../kube/watched-objects.js';
import { errorMessage } from '../../observability/logger.js';
import { ApiError } from '../errors.js';
import { ExecutionChanges } from './execution-changes.js';
import type { ExecutionRef } from './names.js';
import { podNameOf } from './pod-start.js';
import { isFinished, phaseOf } from './result.js';

// Stdin of interactive executions goes through the pod attach API into the run container (which
// the operator makes with stdin and stdinOnce). One attach per execution is held open by the
// replica that first sent input; `null` ends it, and the kubelet then closes the program's stdin.
// Because of stdinOnce, input after that, or after the attach was lost, can never reach it.

const finished = () => new ApiError(409, 'finished', 'the execution has finished');
const stdinClosed = () => new ApiError(409, 'stdin_closed', 'stdin of the execution is closed');

export interface StdinContext {
  kubeConfig: KubeConfig;
  executions: ObjectWatch<ExecutionObject>;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  log: winston.Logger;
}

class StdinSession {
  readonly input = new PassThrough();
  readonly opened: Promise<void>;
  ended = false;
  lost = false;
  private readonly cancel = new AbortController();
  private socket: { close(): void } | undefined;

  constructor(
    private readonly ctx: StdinContext,
    private readonly ref: ExecutionRef,
    execution: ExecutionObject,
    onGone: () => void,
  ) {
    this.opened = this.open(execution).then(
      (socket) => {
        this.socket = socket;
        socket.on('close', () => {
          this.lost = true;
          onGone();
        });
      },
      (error: unknown) => {
        onGone();
        throw error;
      },
    );
    // The first caller awaits this; nobody else must see an unhandled rejection.
    this.opened.catch(() => undefined);
  }

  /**
   * Attaches once the program's container runs; tries again while the pod starts. Unlike the log
   * (see pod-start.ts), the attach waits for Running: the API server accepts the WebSocket itself
   * and reports a refused attach only afterwards, on the status channel, so an attach tried while
   * the container starts looks opened and takes in input that never reaches the program.
   */
  private async open(first: ExecutionObject) {
    const changes = new ExecutionChanges(this.ctx.executions, this.ref);
    const attach = new Attach(this.ctx.kubeConfig);
    let execution: ExecutionObject | undefined = first;
    let delayMs = this.ctx.retryDelayMs;
    try {
      for (;;) {
        if (!execution || isFinished(execution)) throw finished();
        let waitMs: number | undefined;
        if (phaseOf(execution) === 'Running') {
          try {
            const pod = podNameOf(execution);
            const socket = await attach.attach(this.ref.namespace, pod, CONTAINER.run, null, null, this.input, false);
            this.ctx.log.debug('Attached to stdin', { execution: this.ref.name, pod });
            return socket;
          } catch (error) {
            this.ctx.log.debug('Failed to attach; trying again', {
              execution: `${this.ref.namespace}/${this.ref.name}`,
              error: errorMessage(error),
              retryInMs: delayMs,
            });
            waitMs = delayMs;
            delayMs = Math.min(delayMs * 2, this.ctx.maxRetryDelayMs);
          }
        }
        const change = await changes.next(this.cancel.signal, waitMs);
        if (this.cancel.signal.aborted) throw finished();
        if (change) execution = 'deleted' in change ? undefined : change.execution;
      }
    } finally {
      changes.close();
    }
  }

  async send(data: string | null): Promise<void> {
    if (this.ended) throw stdinClosed();
    if (data === null) this.ended = true;
    await this.opened;
    if (this.lost) throw data === null ? stdinClosed() : finished();
    if (data === null) this.input.end();
    else this.input.write(data);
  }

  close(): void {
    this.cancel.abort();
    this.input.end();
    this.socket?.close();
  }
}

/** Executions whose stdin this replica closed are remembered up to this many, oldest dropped first. */
const REMEMBERED_ENDS = 10_000;

export class StdinSessions {
  private readonly sessions = new Map<string, StdinSession>();
  private readonly ended = new Set<string>();

  constructor(private readonly ctx: StdinContext) {}

  async send(ref: ExecutionRef, execution: ExecutionObject, data: string | null): Promise<void> {
    const key = `${ref.namespace}/${ref.name}`;
    if (isFinished(execution)) throw finished();
    if (this.ended.has(key)) throw stdinClosed();
    let session = this.sessions.get(key);
    if (!session) {
      const created: StdinSession = new StdinSession(this.ctx, ref, execution, () => {
        if (this.sessions.get(key) !== created) return;
        this.sessions.delete(key);
        if (created.ended) this.remember(key);
      });
      session = created;
      this.sessions.set(key, session);
    }
    await session.send(data);
  }

  close(): void {
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
  }

  private remember(key: string): void {
    this.ended.add(key);
    if (this.ended.size > REMEMBERED_ENDS) {
      const oldest = this.ended.values().next().value;
      if (oldest !== undefined) this.ended.delete(oldest);
    }
  }
}
