import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { Server } from 'socket.io';
import type winston from 'winston';
import { isTerminal } from '../../contract/index.js';
import { errorMessage } from '../../observability/logger.js';
import type { Config } from '../config.js';
import { toApiError } from '../http/api-errors.js';
import type { GatewayMetrics } from '../metrics.js';
import { type Authenticate, bearerToken, type Credentials, proxyHeaderOf } from '../tenancy/authenticate.js';
import type { Tenant } from '../tenancy/tenant.js';
import type { TenantConnections } from '../tenancy/tenant-connections.js';
import type { TenantDirectory } from '../tenancy/tenant-directory.js';
import type { TenantExecutions } from '../tenancy/tenant-executions.js';
import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents, SocketData } from './events.js';
import { Followers } from './followers.js';
import { type GatewaySocket, serveSocket } from './socket-session.js';

export type GatewayIo = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface SocketServerDeps {
  config: Config;
  tenants: TenantDirectory;
  authenticate: Authenticate;
  executions: TenantExecutions;
  connections: TenantConnections;
  metrics: GatewayMetrics;
  log: winston.Logger;
}

/**
 * Without tenants anyone on this machine is served, and a browser would let any web site open a
 * WebSocket here; only pages of the gateway's own origin may then connect.
 */
function sameOriginOnly(req: IncomingMessage, callback: (err: string | null | undefined, success: boolean) => void) {
  const origin = req.headers.origin;
  if (!origin) return callback(null, true);
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return callback('invalid Origin header', false);
  }
  if (originHost === req.headers.host) return callback(null, true);
  callback('cross-origin connections are refused when no tenants are configured', false);
}

export function createSocketServer(
  httpServer: HttpServer,
  deps: SocketServerDeps,
): { io: GatewayIo; close: () => Promise<void> } {
  const { config, tenants, authenticate, executions, connections, metrics, log } = deps;
  const io: GatewayIo = new Server(httpServer, {
    maxHttpBufferSize: config.socket.maxMessageBytes,
    serveClient: false,
    ...(tenants.tokensRequired ? {} : { allowRequest: sameOriginOnly }),
  });
  /** What each socket showed at its handshake, to check it again whenever the tenants change. */
  const credentialsOf = new WeakMap<GatewaySocket, Credentials>();
  const followers = new Followers();
  const orphanTimers = new Set<NodeJS.Timeout>();

  const cancelWhenOrphaned = (tenant: Tenant, id: string, socketLog: winston.Logger) => {
    const disconnectedAtMs = Date.now();
    const timer = setTimeout(async () => {
      orphanTimers.delete(timer);
      if (followers.has(id)) return;
      try {
        const result = await executions.get(tenant, id);
        if (isTerminal(result.phase)) return;
        // The client may have come back through another replica (a load balancer's choice, or
        // this one's restart): it follows there, and the execution is not orphaned.
        if (await executions.attachedSince(tenant, id, disconnectedAtMs)) return;
        await executions.cancel(tenant, id, socketLog);
      } catch (error) {
        socketLog.warn('Failed to cancel orphaned execution', { id, error: errorMessage(error) });
      }
    }, config.socket.disconnectGraceMs);
    orphanTimers.add(timer);
  };

  io.use((socket, next) => {
    const auth = socket.handshake.auth as { token?: unknown } | undefined;
    const token = typeof auth?.token === 'string' ? auth.token : bearerToken(socket.handshake.headers.authorization);
    const credentials = {
      token,
      remoteAddress: socket.handshake.address,
      host: socket.handshake.headers.host,
      proxyHeader: proxyHeaderOf(socket.handshake.headers),
    };
    try {
      socket.data.tenant = authenticate(credentials);
      const closeSocket = connections.openSocket(socket.data.tenant);
      // Whichever comes first: the socket leaves, or its connection closes before it ever joined.
      socket.once('disconnect', closeSocket);
      socket.conn.once('close', closeSocket);
      credentialsOf.set(socket, credentials);
      next();
    } catch (error) {
      const apiError = toApiError(error);
      next(Object.assign(new Error(apiError.message), { data: apiError.toBody() }));
    }
  });

  io.on('connection', (socket) => {
    metrics.socketConnections.inc();
    socket.on('disconnect', () => metrics.socketConnections.dec());
    serveSocket(socket, { executions, followers, connections, limits: config.socket, log, cancelWhenOrphaned });
  });

  // A revoked token (or a removed tenant) ends its sockets at once: they could otherwise go on
  // following and starting executions for as long as they stay connected.
  const stillValid = (socket: GatewaySocket) => {
    const credentials = credentialsOf.get(socket);
    try {
      return credentials !== undefined && authenticate(credentials).name === socket.data.tenant.name;
    } catch {
      return false; // a 401: the token is no longer any tenant's
    }
  };
  const stopCheckingTokens = tenants.onChange(() => {
    for (const socket of io.of('/').sockets.values()) {
      if (stillValid(socket)) continue;
      log.info('Disconnected socket of a revoked token', { socketId: socket.id, tenant: socket.data.tenant.name });
      socket.disconnect(true);
    }
  });

  return {
    io,
    close: async () => {
      stopCheckingTokens();
      for (const timer of orphanTimers) clearTimeout(timer);
      orphanTimers.clear();
      await io.close();
    },
  };
}
