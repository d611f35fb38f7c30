import type { Socket } from 'socket.io';
import type winston from 'winston';
import { isTerminal } from '../../contract/index.js';
import { errorMessage } from '../../observability/logger.js';
import type { Config } from '../config.js';
import { tooMany } from '../errors.js';
import { toApiError } from '../http/api-errors.js';
import type { Tenant } from '../tenancy/tenant.js';
import type { TenantConnections } from '../tenancy/tenant-connections.js';
import type { TenantExecutions } from '../tenancy/tenant-executions.js';
import type { Ack, ClientToServerEvents, InterServerEvents, ServerToClientEvents, SocketData } from './events.js';
import { chunksOf, OUTPUT_CHUNK_CHARS, whenWritable } from './flow-control.js';
import type { Followers } from './followers.js';
import { idPayloadSchema, parsePayload, stdinPayloadSchema } from './payloads.js';

export type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** Tries at noting an attach on the Execution, a second apart: an API server restart passes. */
const NOTE_ATTACH_ATTEMPTS = 60;
const NOTE_ATTACH_RETRY_MS = 1000;

export interface SocketSessionDeps {
  executions: TenantExecutions;
  followers: Followers;
  /** Counts the tenant's follows against its `maxStreams`, over all its sockets. */
  connections: TenantConnections;
  limits: Config['socket'];
  log: winston.Logger;
  /** Cancels an interactive execution after the grace unless a socket follows it by then. */
  cancelWhenOrphaned(tenant: Tenant, id: string, log: winston.Logger): void;
}

/** What a handler answers: the ack's id, and work to do once the ack is sent. */
interface Handled {
  id: string;
  afterAck?: () => void;
}

/**
 * Serves one socket: each execution it runs or attaches to is followed until its `exit`. The
 * socket is closed when it follows nothing for the idle timeout. When it disconnects, following
 * stops; interactive executions it started are cancelled after a grace (nobody is left to type
 * into them), other executions keep running and stay readable over REST.
 */
export function serveSocket(socket: GatewaySocket, deps: SocketSessionDeps): void {
  const { executions, followers, limits } = deps;
  const tenant = socket.data.tenant;
  const log = deps.log.child({ socketId: socket.id, tenant: tenant.name });
  const follows = new Map<string, AbortController>();
  /** Follows promised by handlers still awaiting the backend; they count against the cap. */
  let reservedFollows = 0;
  /** Interactive executions started here whose exit this socket has not seen. */
  const interactiveIds = new Set<string>();
  let idleTimer: NodeJS.Timeout | undefined;

  const armIdleTimer = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      log.info('Closed idle socket', { idleTimeoutMs: limits.idleTimeoutMs });
      socket.disconnect(true);
    }, limits.idleTimeoutMs);
  };

  /**
   * Holds a place for a follow, against the socket's cap and the tenant's, from before the backend
   * is asked until the follow starts (`follow`) or is given up (`cancel`).
   */
  const reserveFollow = () => {
    if (follows.size + reservedFollows >= limits.maxFollowed) {
      throw tooMany(`this socket already follows ${limits.maxFollowed} executions, its maximum`, 1);
    }
    const closeStream = deps.connections.openStream(tenant);
    reservedFollows += 1;
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      reservedFollows -= 1;
      return true;
    };
    return {
      cancel: () => {
        if (settle()) closeStream();
      },
      follow: (id: string) => {
        if (settle()) follow(id, closeStream);
      },
    };
  };

  const pump = async (id: string, signal: AbortSignal) => {
    for await (const event of executions.follow(tenant, id, signal)) {
      if (event.type === 'output') {
        for (const data of chunksOf(event.data, OUTPUT_CHUNK_CHARS)) {
          await whenWritable(socket, limits.highWaterBytes, signal);
          if (signal.aborted) return;
          socket.emit('output', { id, stream: event.stream, data });
        }
        continue;
      }
      await whenWritable(socket, limits.highWaterBytes, signal);
      if (signal.aborted) return;
      if (event.type === 'status') socket.emit('status', { id, phase: event.phase });
      else {
        interactiveIds.delete(id);
        // Every follow has sent the whole output in `output` events (replayed first); a second
        // copy here would double what a follower costs. GET /api/v1/executions/:id has it all.
        socket.emit('exit', { ...event.result, id, stdout: '', stderr: '', outputStreamed: true });
        return;
      }
    }
  };

  /** Follows an execution; the caller has checked it exists and reserved a stream for it. */
  const follow = (id: string, closeStream: () => void) => {
    if (!socket.connected || follows.has(id)) {
      closeStream();
      return;
    }
    const controller = new AbortController();
    follows.set(id, controller);
    followers.add(id);
    clearTimeout(idleTimer);
    pump(id, controller.signal)
      .catch((error: unknown) => {
        if (!controller.signal.aborted) log.warn('Failed to follow execution', { id, error: errorMessage(error) });
      })
      .finally(() => {
        closeStream();
        if (follows.get(id) === controller) unfollow(id);
        if (follows.size === 0 && socket.connected) armIdleTimer();
      });
  };

  /** Counts the socket out of the execution's followers at once, whenever its pump gets to end. */
  const unfollow = (id: string) => {
    follows.get(id)?.abort();
    follows.delete(id);
    followers.remove(id);
  };

  const handle = (event: keyof ClientToServerEvents, handler: (payload: unknown) => Promise<Handled>) => {
    socket.on(event, (...args: unknown[]) => {
      const last = args.at(-1);
      const ack = typeof last === 'function' ? (last as Ack) : undefined;
      const payload = ack && args.length === 1 ? undefined : args[0];
      handler(payload).then(
        ({ id, afterAck }) => {
          ack?.({ id });
          afterAck?.();
        },
        (error: unknown) => {
          const apiError = toApiError(error);
          if (apiError.status >= 500 && apiError.status !== 503) {
            log.error('Failed socket request', { event, error: errorMessage(error) });
          }
          ack?.(apiError.toBody());
        },
      );
    });
  };

  handle('run', async (payload) => {
    const reservation = reserveFollow();
    let started: { id: string; interactive: boolean };
    try {
      started = await executions.start(tenant, payload, log);
    } catch (error) {
      reservation.cancel();
      throw error;
    }
    const { id, interactive } = started;
    if (!socket.connected) {
      reservation.cancel();
      if (interactive) deps.cancelWhenOrphaned(tenant, id, log);
      return { id };
    }
    if (interactive) interactiveIds.add(id);
    return { id, afterAck: () => reservation.follow(id) };
  });

  /**
   * Notes the attach where every replica reads it, trying again while the API server is away (a
   * restart takes seconds) and this socket stays: never a cost to the attach itself.
   */
  const noteAttach = async (id: string) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await executions.noteAttach(tenant, id);
        return;
      } catch (error) {
        if (attempt >= NOTE_ATTACH_ATTEMPTS || !socket.connected) {
          log.warn('Failed to note an attach on the Execution', { id, attempts: attempt, error: errorMessage(error) });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, NOTE_ATTACH_RETRY_MS));
      }
    }
  };

  handle('attach', async (payload) => {
    const { id } = parsePayload(idPayloadSchema, payload);
    if (follows.has(id)) return { id };
    const reservation = reserveFollow();
    try {
      // Checks existence and tenancy before the ack; following itself starts after the ack.
      const result = await executions.get(tenant, id);
      // Lets the replica this client left know it came back (its orphan check reads this).
      if (!isTerminal(result.phase)) void noteAttach(id);
    } catch (error) {
      reservation.cancel();
      throw error;
    }
    return { id, afterAck: () => reservation.follow(id) };
  });

  handle('stdin', async (payload) => {
    const { id, data } = parsePayload(stdinPayloadSchema, payload);
    await executions.stdin(tenant, id, data);
    return { id };
  });

  handle('stdin:end', async (payload) => {
    const { id } = parsePayload(idPayloadSchema, payload);
    await executions.stdin(tenant, id, null);
    return { id };
  });

  handle('cancel', async (payload) => {
    const { id } = parsePayload(idPayloadSchema, payload);
    await executions.cancel(tenant, id, log);
    return { id };
  });

  socket.on('disconnect', (reason) => {
    clearTimeout(idleTimer);
    // Before the orphan check: a pump may take longer than the grace to notice its abort.
    for (const id of [...follows.keys()]) unfollow(id);
    for (const id of interactiveIds) deps.cancelWhenOrphaned(tenant, id, log);
    interactiveIds.clear();
    log.info('Disconnected socket', { reason });
  });

  log.info('Connected socket');
  armIdleTimer();
}
