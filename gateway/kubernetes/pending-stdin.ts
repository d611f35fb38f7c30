import { API_GROUP } from '../../contract/crd.js';
import type { ExecutionObject } from '../../contract/objects.js';
import { ApiError } from '../errors.js';
import type { ExecutionRef } from './names.js';

// Input acknowledged before any attach of this replica could hand it to the program is kept in
// the Execution itself (an annotation), so that it outlives the replica that took it: whichever
// replica next holds an attach that reached the container takes it and sends it on. Each change
// is an update conditional on resourceVersion, so appends of several replicas keep one order and
// a chunk is taken by one replica only; the taker writes before it sends, so a chunk can only be
// lost to a replica dying between its take's answer and its write to the attach (the same
// moment's exposure a chunk sent straight to an attach has).

export const PENDING_STDIN_ANNOTATION = `${API_GROUP}/pending-stdin`;

/**
 * Most bytes the annotation may hold (as JSON, so escaped control characters count several
 * times): input typed while a program waits to start is a few lines, and all of an object's
 * annotations must stay within the API server's 256 KiB.
 */
export const PENDING_STDIN_MAX_BYTES = 128 * 1024;

/** Conflicting updates in a row after which the API server is taken to be in trouble. */
const MAX_CONFLICTS = 20;

/** A chunk of input, or the end of it. */
export type StdinItem = string | { end: true };

export interface PendingStdin {
  /** Input not yet taken, oldest first. */
  chunks: string[];
  /** `pending`: the end of stdin comes after the chunks; `taken`: it was sent on, stdin is closed. */
  end?: 'pending' | 'taken';
  /** Chunks taken so far, by any replica. */
  taken: number;
}

const EMPTY: PendingStdin = { chunks: [], taken: 0 };

/** The pending input the Execution holds; an unreadable annotation (never written so) is taken as none. */
export function pendingStdinOf(execution: ExecutionObject): PendingStdin {
  const text = execution.metadata.annotations?.[PENDING_STDIN_ANNOTATION];
  if (!text) return EMPTY;
  try {
    const parsed = JSON.parse(text) as Partial<PendingStdin>;
    const chunks = Array.isArray(parsed.chunks) ? parsed.chunks.filter((chunk) => typeof chunk === 'string') : [];
    const end = parsed.end === 'pending' || parsed.end === 'taken' ? parsed.end : undefined;
    const taken = typeof parsed.taken === 'number' && Number.isSafeInteger(parsed.taken) ? parsed.taken : 0;
    return { chunks, ...(end ? { end } : {}), taken };
  } catch {
    return EMPTY;
  }
}

/** Whether something waits to be taken. */
export function hasPendingStdin(state: PendingStdin): boolean {
  return state.chunks.length > 0 || state.end === 'pending';
}

export const stdinClosed = () => new ApiError(409, 'stdin_closed', 'stdin of the execution is closed');

/** The state with `item` added last; refused once stdin was ended, or past the cap. */
export function withAppended(state: PendingStdin, item: StdinItem, maxBytes = PENDING_STDIN_MAX_BYTES): PendingStdin {
  if (state.end) throw stdinClosed();
  if (typeof item !== 'string') return { ...state, end: 'pending' };
  const next = { ...state, chunks: [...state.chunks, item] };
  if (Buffer.byteLength(JSON.stringify(next), 'utf8') > maxBytes) {
    throw new ApiError(
      413,
      'payload_too_large',
      `input sent before the program could receive it is held up to ${maxBytes} bytes; send the rest once it runs`,
      'data',
    );
  }
  return next;
}

/** What a take hands on, in order, and the state it leaves. */
export function taking(state: PendingStdin): { items: StdinItem[]; next: PendingStdin } {
  const items: StdinItem[] = [...state.chunks];
  if (state.end === 'pending') items.push({ end: true });
  const next: PendingStdin = {
    chunks: [],
    ...(state.end ? { end: 'taken' as const } : {}),
    taken: state.taken + state.chunks.length,
  };
  return { items, next };
}

export interface PendingStdinApi {
  readWhole(ref: ExecutionRef): Promise<ExecutionObject | undefined>;
  /** A JSON merge patch; rejects with an error whose `code` is 409 when resourceVersion no longer matches. */
  patch(ref: ExecutionRef, body: unknown): Promise<void>;
}

export interface PendingStdinStore {
  /** Adds input last; resolves once the API server holds it. */
  append(ref: ExecutionRef, item: StdinItem): Promise<void>;
  /** Takes everything pending (nothing when there is none), for the caller alone to send on. */
  take(ref: ExecutionRef): Promise<StdinItem[]>;
}

const conflict = (error: unknown) => (error as { code?: unknown } | undefined)?.code === 409;

const gone = () => new ApiError(409, 'finished', 'the execution has finished');

export function pendingStdinStore(api: PendingStdinApi): PendingStdinStore {
  /** Reads, changes and writes back with the read's resourceVersion, again on every conflict. */
  const update = async <T>(
    ref: ExecutionRef,
    change: (state: PendingStdin) => { next?: PendingStdin; value: T },
  ): Promise<T> => {
    for (let attempt = 1; ; attempt += 1) {
      const execution = await api.readWhole(ref);
      if (!execution) throw gone();
      const { next, value } = change(pendingStdinOf(execution));
      if (!next) return value;
      try {
        await api.patch(ref, {
          metadata: {
            resourceVersion: execution.metadata.resourceVersion,
            annotations: { [PENDING_STDIN_ANNOTATION]: JSON.stringify(next) },
          },
        });
        return value;
      } catch (error) {
        if (!conflict(error)) throw error;
        if (attempt >= MAX_CONFLICTS) {
          throw new ApiError(503, 'backend_unavailable', 'the Execution kept changing; try again', undefined, 1);
        }
      }
    }
  };

  return {
    append: (ref, item) => update(ref, (state) => ({ next: withAppended(state, item), value: undefined })),
    take: (ref) =>
      update(ref, (state) => {
        if (!hasPendingStdin(state)) return { value: [] };
        const { items, next } = taking(state);
        return { next, value: items };
      }),
  };
}
