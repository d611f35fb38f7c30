import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type winston from 'winston';
import { type WebSocket, WebSocketServer } from 'ws';
import { errorMessage } from '../../../observability/logger.js';
import { toApiError } from '../../http/api-errors.js';
import { type Authenticate, bearerToken, proxyHeaderOf } from '../../tenancy/authenticate.js';
import type { Tenant } from '../../tenancy/tenant.js';
import type { TenantConnections } from '../../tenancy/tenant-connections.js';
import type { TenantExecutions } from '../../tenancy/tenant-executions.js';
import { translateExecute } from './execute-request.js';

// Piston v2's WebSocket protocol at /piston/api/v2/connect: the client sends `init` (an execute
// request) within a second, then `data` on stdin and `signal`; the server sends `runtime`,
// `stage`, `data` and `exit` messages and closes with Piston's codes. The program runs as an
// interactive sandpod execution, through the same admission as every other.

export const CONNECT_PATH = '/piston/api/v2/connect';

/** Piston's close codes. */
const CLOSE = {
  alreadyInitialized: [4000, 'Already Initialized'],
  initTimeout: [4001, 'Initialization Timeout'],
  error: [4002, 'Notified Error'],
  notInitialized: [4003, 'Not yet Initialized'],
  stdinOnly: [4004, 'Can only write to stdin'],
  invalidSignal: [4005, 'Invalid signal'],
  completed: [4999, 'Job Completed'],
} as const satisfies Record<string, readonly [number, string]>;

/** Signals Piston lets a client send; a sandbox is only ever stopped, whichever is sent. */
const SIGNALS = new Set([
  'SIGABRT',
  'SIGALRM',
  'SIGBUS',
  'SIGCHLD',
  'SIGCONT',
  'SIGFPE',
  'SIGHUP',
  'SIGILL',
  'SIGINT',
  'SIGKILL',
  'SIGPIPE',
  'SIGQUIT',
  'SIGSEGV',
  'SIGSTOP',
  'SIGTERM',
  'SIGTRAP',
  'SIGUSR1',
  'SIGUSR2',
  'SIGXCPU',
  'SIGXFSZ',
]);

const INIT_TIMEOUT_MS = 1000;

export interface PistonConnectOptions {
  executions: TenantExecutions;
  /** Each connection counts as one of the tenant's sockets. */
  connections: TenantConnections;
  authenticate: Authenticate;
  log: winston.Logger;
}

function send(socket: WebSocket, message: Record<string, unknown>): void {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
}

function close(socket: WebSocket, [code, reason]: readonly [number, string]): void {
  if (socket.readyState === socket.OPEN) socket.close(code, reason);
}

/** One connection: one program, from init to its exit. */
function serveConnection(socket: WebSocket, tenant: Tenant, options: PistonConnectOptions): void {
  const { executions } = options;
  const log = options.log.child({ tenant: tenant.name, piston: 'connect' });
  const following = new AbortController();
  let id: string | undefined;
  /** Resolves with the execution's id once it started; messages sent right after init wait on it. */
  let started: Promise<string> | undefined;
  const initTimer = setTimeout(() => close(socket, CLOSE.initTimeout), INIT_TIMEOUT_MS);

  const fail = (error: unknown) => {
    send(socket, { type: 'error', message: toApiError(error).message });
    close(socket, CLOSE.error);
  };

  const start = async (body: unknown): Promise<string> => {
    const { request, language, version } = translateExecute(body, await executions.runtimes(), tenant.limits);
    ({ id } = await executions.start(tenant, { ...request, interactive: true }, log));
    send(socket, { type: 'runtime', language, version });
    return id;
  };

  const relay = async (executionId: string) => {
    const events = executions.follow(tenant, executionId, following.signal);
    let running = false;
    for await (const event of events) {
      if (event.type === 'status' && event.phase === 'Running' && !running) {
        running = true;
        send(socket, { type: 'stage', stage: 'run' });
      } else if (event.type === 'output') {
        if (!running) {
          running = true;
          send(socket, { type: 'stage', stage: 'run' });
        }
        send(socket, { type: 'data', stream: event.stream, data: event.data });
      } else if (event.type === 'exit') {
        const { result } = event;
        if (result.reason === 'CompileError' && result.compile) {
          send(socket, { type: 'stage', stage: 'compile' });
          send(socket, { type: 'data', stream: 'stderr', data: result.compile.output });
          send(socket, { type: 'exit', stage: 'compile', code: result.compile.exitCode, signal: null });
        } else {
          send(socket, { type: 'exit', stage: 'run', code: result.exitCode, signal: result.signal });
        }
        close(socket, CLOSE.completed);
        return;
      }
    }
  };

  socket.on('message', (raw) => {
    let message: { type?: unknown; stream?: unknown; data?: unknown; signal?: unknown };
    try {
      message = JSON.parse(String(raw)) as typeof message;
    } catch {
      fail(new Error('the message is not JSON'));
      return;
    }
    if (message.type === 'init') {
      if (started) return close(socket, CLOSE.alreadyInitialized);
      clearTimeout(initTimer);
      started = start(message);
      started.then(relay).catch(fail);
      return;
    }
    if (!started) return close(socket, CLOSE.notInitialized);
    if (message.type === 'data') {
      if (message.stream !== 'stdin' || typeof message.data !== 'string') return close(socket, CLOSE.stdinOnly);
      const data = message.data;
      started.then((executionId) => executions.stdin(tenant, executionId, data)).catch(fail);
      return;
    }
    if (message.type === 'signal' || message.type === 'kill') {
      if (message.type === 'signal' && !(typeof message.signal === 'string' && SIGNALS.has(message.signal))) {
        return close(socket, CLOSE.invalidSignal);
      }
      started.then((executionId) => executions.cancel(tenant, executionId, log)).catch(fail);
      return;
    }
    fail(new Error(`unknown message type ${String(message.type)}`));
  });

  socket.on('close', () => {
    clearTimeout(initTimer);
    following.abort();
    // Nobody is left to type into the program or read it: it is stopped, as Piston stops it.
    if (id !== undefined) {
      executions.cancel(tenant, id, log).catch((error: unknown) => {
        if (toApiError(error).status !== 404) log.warn('Failed to cancel', { id, error: errorMessage(error) });
      });
    }
  });
}

/**
 * Serves Piston's connect WebSocket on the gateway's HTTP server. Upgrades to other paths are left
 * to their own listeners (Socket.IO's).
 */
export function attachPistonConnect(server: HttpServer, options: PistonConnectOptions): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const onUpgrade = (req: IncomingMessage, stream: Duplex, head: Buffer) => {
    if (new URL(req.url ?? '/', 'http://gateway').pathname !== CONNECT_PATH) return;
    let tenant: Tenant;
    let release: () => void;
    try {
      tenant = options.authenticate({
        token: bearerToken(req.headers.authorization),
        remoteAddress: req.socket.remoteAddress,
        host: req.headers.host,
        proxyHeader: proxyHeaderOf(req.headers),
      });
      release = options.connections.openSocket(tenant);
    } catch (error) {
      const apiError = toApiError(error);
      const status = apiError.status === 429 ? '429 Too Many Requests' : `${apiError.status} Unauthorized`;
      stream.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    stream.once('close', release);
    wss.handleUpgrade(req, stream, head, (socket) => serveConnection(socket, tenant, options));
  };
  server.on('upgrade', onUpgrade);
  return {
    close: () => {
      server.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}
