import { io, type Socket } from 'socket.io-client';
import type { ExecutionResult, Phase, Stream } from '../contract/outcome.js';
import type { ExecutionRequest } from '../contract/request.js';
import type { ApiErrorBody, ClientToServerEvents, CommandAck, RunAck, ServerToClientEvents } from './socket-events.js';

// One Socket.IO connection and at most one execution followed through it. Events can overtake
// the `run` ack, so events of an unknown id are held until the ack names it; a dropped
// connection re-attaches to the execution, which replays its output from the start.

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'idle' | 'refused';

export interface RunListener {
  /** The server admitted the run under this id. */
  onAccepted?(id: string): void;
  /** Everything shown so far is about to be replayed (after a reconnect): clear it. */
  onReplay(): void;
  onOutput(stream: Stream, data: string): void;
  onStatus(phase: Phase): void;
  onExit(result: ExecutionResult): void;
  /** The server refused the run or a command, or the execution could not be followed. */
  onError(error: ApiErrorBody): void;
}

type HeldEvent =
  | { kind: 'output'; id: string; stream: Stream; data: string }
  | { kind: 'status'; id: string; phase: Phase }
  | { kind: 'exit'; result: ExecutionResult };

interface CurrentRun {
  id: string | undefined;
  listener: RunListener;
  held: HeldEvent[];
  /** Commands typed before the ack arrived, sent once the id is known. */
  queued: ((id: string) => void)[];
}

const ACK_TIMEOUT_MS = 20_000;

export interface SocketOptions {
  /** As for SandpodClient: an origin (and path prefix), or in a page a path of its own origin. */
  server: string;
  token?: string | undefined;
  /** Socket.IO's transports; Node clients skip long polling with `['websocket']`. */
  transports?: ('polling' | 'websocket')[];
}

/** socket.io-client wants the origin and the path apart; a prefix belongs to the path. */
export function socketTarget(server: string): { uri: string | undefined; path: string } {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(server)) {
    const url = new URL(server);
    return { uri: url.origin, path: `${url.pathname.replace(/\/+$/, '')}/socket.io` };
  }
  return { uri: undefined, path: `${server.replace(/\/+$/, '')}/socket.io` };
}

export class RunClient {
  private readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  private current: CurrentRun | undefined;

  constructor(
    options: SocketOptions,
    private readonly onConnection: (state: ConnectionState, detail?: string) => void,
  ) {
    const { uri, path } = socketTarget(options.server);
    const socketOptions = {
      path,
      auth: options.token ? { token: options.token } : {},
      autoConnect: false,
      ...(options.transports ? { transports: options.transports } : {}),
    };
    this.socket = uri === undefined ? io(socketOptions) : io(uri, socketOptions);
    this.socket.on('connect', () => this.connected());
    this.socket.on('disconnect', (reason) => this.disconnected(reason));
    this.socket.on('connect_error', (error) => this.connectFailed(error));
    this.socket.io.on('reconnect_attempt', (attempt) => this.onConnection('reconnecting', `attempt ${attempt}`));
    this.socket.on('output', ({ id, stream, data }) => this.deliver({ kind: 'output', id, stream, data }));
    this.socket.on('status', ({ id, phase }) => this.deliver({ kind: 'status', id, phase }));
    this.socket.on('exit', (result) => this.deliver({ kind: 'exit', result }));
  }

  connect(): void {
    if (this.socket.connected || this.socket.active) return;
    this.onConnection('connecting');
    this.socket.connect();
  }

  /** Ends the connection; a run still followed is reported as an error. */
  close(): void {
    this.socket.disconnect();
  }

  get running(): boolean {
    return this.current !== undefined;
  }

  run(request: ExecutionRequest, listener: RunListener): void {
    const run: CurrentRun = { id: undefined, listener, held: [], queued: [] };
    this.current = run;
    this.connect();
    this.socket.timeout(ACK_TIMEOUT_MS).emit('run', request, (timeout, reply) => {
      if (this.current !== run) return;
      this.acknowledged(run, timeout ? undefined : reply);
    });
  }

  stdin(data: string): void {
    this.command((id) => this.socket.emit('stdin', { id, data }, (reply) => this.commandReplied(reply)));
  }

  endStdin(): void {
    this.command((id) => this.socket.emit('stdin:end', { id }, (reply) => this.commandReplied(reply)));
  }

  cancel(): void {
    this.command((id) => this.socket.emit('cancel', { id }, (reply) => this.commandReplied(reply)));
  }

  private command(send: (id: string) => void): void {
    const run = this.current;
    if (!run) return;
    if (run.id === undefined) run.queued.push(send);
    else send(run.id);
  }

  private commandReplied(reply: CommandAck): void {
    if (reply?.error) this.current?.listener.onError(reply.error);
  }

  private acknowledged(run: CurrentRun, reply: RunAck | undefined): void {
    if (!reply || 'error' in reply) {
      this.current = undefined;
      run.listener.onError(
        reply?.error ?? { code: 'timeout', message: 'The server did not answer in time. Try again.' },
      );
      return;
    }
    run.id = reply.id;
    run.listener.onAccepted?.(reply.id);
    const held = run.held.filter((event) => idOf(event) === reply.id);
    run.held = [];
    for (const send of run.queued.splice(0)) send(reply.id);
    for (const event of held) this.deliver(event);
  }

  private deliver(event: HeldEvent): void {
    const run = this.current;
    if (!run) return;
    if (run.id === undefined) {
      run.held.push(event);
      return;
    }
    if (idOf(event) !== run.id) return;
    switch (event.kind) {
      case 'output':
        run.listener.onOutput(event.stream, event.data);
        return;
      case 'status':
        run.listener.onStatus(event.phase);
        return;
      case 'exit':
        this.current = undefined;
        run.listener.onExit(event.result);
        return;
    }
  }

  private connected(): void {
    this.onConnection('connected');
    const run = this.current;
    // With connection state recovery the server replays what was missed by itself.
    if (!run?.id || this.socket.recovered) return;
    this.reattach(run, run.id);
  }

  private reattach(run: CurrentRun, id: string): void {
    run.listener.onReplay();
    this.socket.timeout(ACK_TIMEOUT_MS).emit('attach', { id }, (timeout, reply) => {
      if (this.current !== run) return;
      if (timeout || !reply || 'error' in reply) {
        this.current = undefined;
        const reason = reply && 'error' in reply ? reply.error.message : 'the server did not answer';
        run.listener.onError({ code: 'lost', message: `Lost the running program after reconnecting: ${reason}` });
      }
    });
  }

  private disconnected(reason: Socket.DisconnectReason): void {
    // The server closes sockets that follow nothing for a while; that is not an outage, and the
    // next run simply connects again.
    if (reason === 'io server disconnect' || reason === 'io client disconnect') {
      this.onConnection('idle');
      const run = this.current;
      if (run) {
        this.current = undefined;
        run.listener.onError({ code: 'disconnected', message: 'The server closed the connection.' });
      }
      return;
    }
    this.onConnection('reconnecting', reason);
  }

  private connectFailed(error: Error): void {
    // A refusal by the server's middleware (bad token) is final; anything else is retried.
    if (this.socket.active) {
      this.onConnection('reconnecting', error.message);
      return;
    }
    this.onConnection('refused', error.message);
    const run = this.current;
    if (run) {
      this.current = undefined;
      run.listener.onError({ code: 'refused', message: `The server refused the connection: ${error.message}` });
    }
  }
}

function idOf(event: HeldEvent): string {
  return event.kind === 'exit' ? event.result.id : event.id;
}
