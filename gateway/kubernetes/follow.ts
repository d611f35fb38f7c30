import type { IncomingMessage } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import type winston from 'winston';
import { DEFAULT_LIMITS, isTerminal, STREAMS, type Stream } from '../../contract/index.js';
import type { ExecutionObject } from '../../contract/objects.js';
import { CONTAINER } from '../../contract/objects.js';
import { KubeletLogError, kubeletLogError } from '../../kube/kubelet-log-error.js';
import type { ObjectWatch } from '../../kube/watched-objects.js';
import { errorMessage } from '../../observability/logger.js';
import type { ExecutionEvent } from '../backend.js';
import type { Config } from '../config.js';
import { notFound } from '../errors.js';
import { ApiRequestError, openApiStream } from './api-request.js';
import { type Change, ExecutionChanges } from './execution-changes.js';
import { LiveOutput } from './live-output.js';
import { merged } from './merged.js';
import type { ExecutionRef } from './names.js';
import type { OutputWindow, WindowEnd } from './output-window.js';
import { hasPod, isStartingAnswer, podNameOf, RetryDelays } from './pod-start.js';
import { deletedResult, isFinished, isLaterPhase, phaseOf, toResult } from './result.js';
import { withoutWarmPrefix } from './warm-prefix.js';

// Following an Execution: its phase from the watch, its output live while the program runs (from
// this replica's attach when it gated the program, see live-attach.ts, else from the pod's log),
// then whatever status holds beyond what was sent (all of it for a follower that comes after the
// pod is gone), and last the result from the final status, so a socket and
// `kubectl get ex -o yaml` tell the same story.

export interface FollowContext {
  kubeConfig: KubeConfig;
  executions: ObjectWatch<ExecutionObject>;
  settings: Config['kubernetes'];
  /** Set once the API server refused `stream=`; shared by every follower of this backend. */
  splitStreams: { refused: boolean };
  /** The Execution now, perhaps without output: from the watch's cache, else the API server. */
  read(ref: ExecutionRef): Promise<ExecutionObject | undefined>;
  /** The whole Execution, output included, from the API server. */
  readWhole(ref: ExecutionRef): Promise<ExecutionObject | undefined>;
  /** All output of an execution this replica gated, as its attach gets it; else undefined. */
  liveOutput?(ref: ExecutionRef): OutputWindow | undefined;
  log: winston.Logger;
  now(): Date;
}

type Item = { kind: 'output'; stream: Stream; data: string } | { kind: 'change'; change: Change };

/** Bytes as one log gave them, `position` bytes into that response; not yet taken by LiveOutput. */
type Chunk = { stream: Stream; chunk: Buffer; position: number };

/** A chunk of the log or of the attach; `combined` when the log carries stdout and stderr as one. */
type LogChunk = Chunk & { combined?: boolean };

export async function* followExecution(
  ctx: FollowContext,
  ref: ExecutionRef,
  belongs: (execution: ExecutionObject) => boolean,
  signal: AbortSignal,
): AsyncGenerator<ExecutionEvent> {
  // Subscribed before the first read, so no version between the read and the wait is missed.
  const statusChanges = new ExecutionChanges(ctx.executions, ref);
  const logChanges = new ExecutionChanges(ctx.executions, ref);
  const logs = new AbortController();
  const stopLogs = () => logs.abort();
  signal.addEventListener('abort', stopLogs, { once: true });
  try {
    const initial = await ctx.read(ref);
    if (!initial || !belongs(initial)) throw notFound();
    let last = initial;
    let phase = phaseOf(initial);
    let deleted = false;
    yield { type: 'status', phase };
    const live = new LiveOutput(initial.spec.limits?.outputBytes ?? DEFAULT_LIMITS.outputBytes);
    if (!isFinished(initial)) {
      // A tests run's log is the launcher's frames, not output to show; its tests come in the result.
      const sources = [
        changesOf(statusChanges, signal),
        ...(initial.spec.tests ? [] : [podOutput(ctx, ref, initial, logChanges, live, logs.signal)]),
      ];
      for await (const item of merged<Item>(sources)) {
        if (item.kind === 'output') {
          // The log is opened while the Execution is still Pending: output from the program's
          // container says it runs before the operator's status does.
          if (phase === 'Pending') {
            phase = 'Running';
            yield { type: 'status', phase };
          }
          yield { type: 'output', stream: item.stream, data: item.data };
        } else if ('deleted' in item.change) {
          deleted = true;
        } else {
          last = item.change.execution;
          const next = phaseOf(last);
          // The terminal phase waits until the log is drained, right before the exit.
          if (!isTerminal(next) && isLaterPhase(next, phase)) {
            phase = next;
            yield { type: 'status', phase };
          }
          // A warm run's final status holds all of its output (the operator read it over the
          // attach that saw every byte), so the log need not be waited for: its followed stream
          // ends only when the kubelet next looks at the container, up to a second later. What the
          // log has not brought yet comes from status below.
          if (isTerminal(next) && wholeInStatus(last)) logs.abort();
        }
      }
    }
    if (signal.aborted) return;
    const final = deleted ? last : await wholeOrLast(ctx, ref, last);
    for (const stream of STREAMS) {
      const data = live.remainder(stream, final.status?.[stream] ?? '');
      if (data) yield { type: 'output', stream, data };
    }
    const result = deleted ? deletedResult(last, ctx.now()) : toResult(final);
    if (result.phase !== phase) yield { type: 'status', phase: result.phase };
    yield { type: 'exit', result };
  } finally {
    statusChanges.close();
    logChanges.close();
    signal.removeEventListener('abort', stopLogs);
    logs.abort();
  }
}

/** A warm Execution's final status that holds all of its output, none cut for room. */
function wholeInStatus(execution: ExecutionObject): boolean {
  return execution.status?.warm === true && execution.status.truncated === false;
}

/** The watch keeps Executions without output; the final status with output comes from a read. */
async function wholeOrLast(ctx: FollowContext, ref: ExecutionRef, last: ExecutionObject): Promise<ExecutionObject> {
  try {
    return (await ctx.readWhole(ref)) ?? last;
  } catch (error) {
    ctx.log.warn('Failed to read the final status; ending with what the watch had', {
      execution: `${ref.namespace}/${ref.name}`,
      error: errorMessage(error),
    });
    return last;
  }
}

async function* changesOf(changes: ExecutionChanges, signal: AbortSignal): AsyncGenerator<Item> {
  for (;;) {
    const change = await changes.next(signal);
    if (!change) return;
    yield { kind: 'change', change };
    if ('deleted' in change || isFinished(change.execution)) return;
  }
}

/**
 * The program's output: from this replica's attach, which has every byte at once, prompts
 * included, when it gated the program; from the pod's log otherwise. With both, both are read and
 * each byte is sent once, by whichever brings it first (LiveOutput counts bytes per stream, and
 * each source brings its stream from the start without a gap): the attach is ahead while the
 * follower keeps up, and the log, opened while the pod exists and held back by TCP while unread,
 * goes on where the attach's kept pieces stop for a follower that fell behind them, even after
 * the pod is gone. Bytes are taken only here, once merged handed them over.
 */
async function* podOutput(
  ctx: FollowContext,
  ref: ExecutionRef,
  initial: ExecutionObject,
  changes: ExecutionChanges,
  live: LiveOutput,
  signal: AbortSignal,
): AsyncGenerator<Item> {
  const window = ctx.liveOutput?.(ref);
  const split = ctx.settings.splitStreams && !ctx.splitStreams.refused;
  let sources: AsyncIterable<LogChunk>[] = [logOutput(ctx, ref, initial, changes, signal)];
  if (window && split) sources = [window.read(signal), ...sources];
  else if (window) {
    // Without split streams the log counts stdout and stderr together: it can only take over.
    const ended = yield* taken(window.read(signal), live, false);
    if (ended === 'complete' || signal.aborted || live.capped) return;
  }
  yield* taken(merged(sources), live, window !== undefined && split);
}

/** Sends what `chunks` bring beyond what was sent; returns how a window's pieces ended. */
async function* taken(
  chunks: AsyncIterable<LogChunk, WindowEnd | undefined>,
  live: LiveOutput,
  skipCombined: boolean,
): AsyncGenerator<Item, WindowEnd | undefined> {
  const iterator = chunks[Symbol.asyncIterator]();
  for (;;) {
    const next = await iterator.next();
    if (next.done) {
      const ended = next.value;
      if (ended !== 'partial') {
        for (const stream of STREAMS) {
          const data = live.flush(stream);
          if (data) yield { kind: 'output', stream, data };
        }
      }
      return ended;
    }
    const { stream, chunk, position, combined } = next.value;
    // A log that fell back to stdout and stderr together has other positions than the attach.
    if (combined && skipCombined) continue;
    const data = live.take(stream, chunk, position);
    if (data) yield { kind: 'output', stream, data };
    if (live.capped) {
      await iterator.return?.(undefined);
      return 'complete';
    }
  }
}

/**
 * The program's output from the pod's log, from the moment the pod exists until the log ends.
 * Opening is retried while the pod starts (the API server refuses the log of a pod without a
 * node, the kubelet that of a container still waiting) on each new version of the Execution and
 * after a short, growing delay; a log cut short is opened again and what was sent is skipped.
 * Once the Execution is finished and its pod gone, status carries the output instead.
 */
async function* logOutput(
  ctx: FollowContext,
  ref: ExecutionRef,
  initial: ExecutionObject,
  changes: ExecutionChanges,
  signal: AbortSignal,
): AsyncGenerator<LogChunk> {
  let execution: ExecutionObject | undefined = initial;
  const delays = new RetryDelays(ctx.settings.podRetryDelayMs, ctx.settings.rewatchMaxDelayMs);
  while (execution && !isFinished(execution) && !signal.aborted) {
    let waitMs: number | undefined;
    if (hasPod(execution)) {
      try {
        yield* podLogs(ctx, ref.namespace, podNameOf(execution), signal, execution.status?.warm === true);
        return;
      } catch (error) {
        if (signal.aborted) return;
        const starting = isStartingAnswer(error);
        waitMs = delays.after(starting);
        ctx.log[starting ? 'debug' : 'warn']('Failed to follow pod log; trying again', {
          execution: `${ref.namespace}/${ref.name}`,
          error: errorMessage(error),
          retryInMs: waitMs,
        });
      }
    }
    const change = await changes.next(signal, waitMs);
    if (change) execution = 'deleted' in change ? undefined : change.execution;
    else if (waitMs === undefined) return;
  }
}

const isSplitRefusal = (error: unknown) =>
  error instanceof ApiRequestError && (error.code === 400 || error.code === 422) && /stream/i.test(error.message);

async function* podLogs(
  ctx: FollowContext,
  namespace: string,
  pod: string,
  signal: AbortSignal,
  warm = false,
): AsyncGenerator<LogChunk> {
  const split = ctx.settings.splitStreams && !ctx.splitStreams.refused;
  const targets: [Stream, 'Stdout' | 'Stderr' | undefined][] = split
    ? [
        ['stdout', 'Stdout'],
        ['stderr', 'Stderr'],
      ]
    : [['stdout', undefined]];
  const opened = new AbortController();
  const stop = () => opened.abort();
  signal.addEventListener('abort', stop, { once: true });
  try {
    try {
      // Each log is read from the moment it answers, not once both have: the kubelet answers a
      // followed log only when the container first writes to that stream or ends, so output on
      // one stream would otherwise wait for the other (a program that prints, then waits for
      // input and never writes to stderr, would show nothing until it ends).
      // A chunk one log read while the other failed is dropped untaken, and read again on the
      // next open.
      for await (const chunk of merged(
        targets.map(([stream, logStream]) => {
          const chunks = logOf(ctx, logPath(namespace, pod, logStream), stream, opened.signal);
          // The launcher of a warm pod frames its own news on stdout before the run's output.
          return warm && stream === 'stdout' ? withoutWarmPrefix(chunks) : chunks;
        }),
      )) {
        yield split ? chunk : { ...chunk, combined: true };
      }
    } catch (error) {
      if (!split || !isSplitRefusal(error)) throw error;
      ctx.splitStreams.refused = true;
      ctx.log.warn('Followed stdout and stderr together: the API server refused split log streams', {
        error: errorMessage(error),
        fix: 'enable the feature gate PodLogsQuerySplitStreams on the API server and kubelets',
      });
      opened.abort();
      yield* podLogs(ctx, namespace, pod, signal, warm);
      return;
    }
  } finally {
    signal.removeEventListener('abort', stop);
    opened.abort();
  }
}

/** One log: opened, then read chunk by chunk as `stream`. */
async function* logOf(ctx: FollowContext, path: string, stream: Stream, signal: AbortSignal): AsyncGenerator<Chunk> {
  const response = await openApiStream(ctx.kubeConfig, path, signal);
  yield* chunksOf(response, stream);
}

export function logPath(namespace: string, pod: string, stream: 'Stdout' | 'Stderr' | undefined): string {
  const query = new URLSearchParams({ container: CONTAINER.run, follow: 'true' });
  if (stream) query.set('stream', stream);
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log?${query}`;
}

async function* chunksOf(response: IncomingMessage, stream: Stream): AsyncGenerator<Chunk> {
  let position = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    // The kubelet's error as the whole first chunk: nothing of the log came, open it again.
    const kubeletError = position === 0 ? kubeletLogError(chunk) : undefined;
    if (kubeletError) throw new KubeletLogError(kubeletError);
    yield { stream, chunk, position };
    position += chunk.length;
  }
}
