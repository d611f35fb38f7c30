import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type Socket as ClientSocket, io as connectClient } from 'socket.io-client';
import type { ExecutionResult, Phase, Stream } from '../../contract/index.js';
import { createApp, type Gateway } from '../../gateway/app.js';
import type { ExecutionBackend } from '../../gateway/backend.js';
import type { Config } from '../../gateway/config.js';
import type { AckBody } from '../../gateway/socket/events.js';
import { ApiDescription } from './api-description.js';
import { testLogger } from './logger.js';

export { testLogger };

export const sha256Hex = (token: string) => createHash('sha256').update(token).digest('hex');

export interface RunningGateway {
  gateway: Gateway;
  url: string;
  close(): Promise<void>;
}

/** Starts a gateway on an ephemeral loopback port. */
export async function startGateway(
  config: Config,
  backend: ExecutionBackend,
  options: { webDir?: string } = {},
): Promise<RunningGateway> {
  const gateway = createApp({ config, backend, log: testLogger(), ...options });
  await new Promise<void>((resolve, reject) => {
    gateway.httpServer.once('error', reject);
    gateway.httpServer.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = gateway.httpServer.address() as AddressInfo;
  return { gateway, url: `http://127.0.0.1:${port}`, close: () => gateway.close() };
}

/** Gateways whose answers `api` checks against their own API description, by origin. */
const described = new Map<string, ApiDescription>();

/**
 * From now on until `stop`, every answer of the gateway at `url` read through `api` must be as
 * its OpenAPI document (GET /api/v1/openapi.json) describes, or `api` throws saying what differs.
 */
export async function checkAnswersOf(url: string): Promise<{ description: ApiDescription; stop(): void }> {
  const description = await ApiDescription.fetch(url);
  const origin = new URL(url).origin;
  described.set(origin, description);
  return { description, stop: () => described.delete(origin) };
}

/** JSON over fetch with an optional bearer token. */
export async function api(
  url: string,
  token: string | undefined,
  init: { method?: string; body?: unknown; rawBody?: string; contentType?: string } = {},
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (init.rawBody !== undefined) body = init.rawBody;
  else if (init.body !== undefined) body = JSON.stringify(init.body);
  if (body !== undefined) headers['content-type'] = init.contentType ?? 'application/json';
  const method = init.method ?? (body === undefined ? 'GET' : 'POST');
  const response = await fetch(url, { method, headers, body }).catch((error: Error) => {
    // A kept-alive connection that the server closes as idle just as a request goes out on it is
    // reset or closed under it; a server whose event loop stalls (in an emulated guest,
    // test/cgroup2) does so often. A GET is safe to send again.
    const code = (error.cause as NodeJS.ErrnoException | undefined)?.code ?? '';
    if (method !== 'GET' || !['ECONNRESET', 'UND_ERR_SOCKET'].includes(code)) throw error;
    return fetch(url, { method, headers, body });
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: the text itself is the body.
  }
  described.get(new URL(url).origin)?.check(method, url, response.status, response.headers.get('content-type'), parsed);
  return { status: response.status, headers: response.headers, body: parsed };
}

export interface RecordedEvent {
  type: 'output' | 'status' | 'exit';
  stream?: Stream;
  data?: string;
  phase?: Phase;
  result?: ExecutionResult;
}

/** Records every execution event a socket receives, from the moment it is created. */
export class EventRecorder {
  readonly #events = new Map<string, RecordedEvent[]>();
  readonly #waiters = new Set<() => void>();

  constructor(socket: ClientSocket) {
    socket.on('output', (event: { id: string; stream: Stream; data: string }) =>
      this.#add(event.id, { type: 'output', stream: event.stream, data: event.data }),
    );
    socket.on('status', (event: { id: string; phase: Phase }) =>
      this.#add(event.id, { type: 'status', phase: event.phase }),
    );
    socket.on('exit', (event: ExecutionResult) => this.#add(event.id, { type: 'exit', result: event }));
  }

  events(id: string): RecordedEvent[] {
    return this.#events.get(id) ?? [];
  }

  stdout(id: string): string {
    return this.events(id)
      .filter((event) => event.type === 'output' && event.stream === 'stdout')
      .map((event) => event.data)
      .join('');
  }

  /** Resolves once `predicate` holds for the events of `id`. */
  until(id: string, predicate: (events: RecordedEvent[]) => boolean): Promise<RecordedEvent[]> {
    return new Promise((resolve) => {
      const check = () => {
        const events = this.events(id);
        if (!predicate(events)) return;
        this.#waiters.delete(check);
        resolve(events);
      };
      this.#waiters.add(check);
      check();
    });
  }

  async untilExit(id: string): Promise<ExecutionResult> {
    const events = await this.until(id, (events) => events.some((event) => event.type === 'exit'));
    return events.find((event) => event.type === 'exit')?.result as ExecutionResult;
  }

  untilStdout(id: string, text: string): Promise<RecordedEvent[]> {
    return this.until(id, () => this.stdout(id).includes(text));
  }

  #add(id: string, event: RecordedEvent) {
    const events = this.#events.get(id) ?? [];
    events.push(event);
    this.#events.set(id, events);
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/** Connects a socket.io client; rejects with the server's error when the handshake is refused. */
export function connectSocket(url: string, token?: string): Promise<{ socket: ClientSocket; recorder: EventRecorder }> {
  const socket = connectClient(url, {
    auth: token === undefined ? {} : { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  const recorder = new EventRecorder(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve({ socket, recorder }));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}

export function emitWithAck(
  socket: ClientSocket,
  event: string,
  payload: unknown,
  timeoutMs = 30_000,
): Promise<AckBody> {
  return socket.timeout(timeoutMs).emitWithAck(event, payload) as Promise<AckBody>;
}

export function ackId(ack: AckBody): string {
  if ('error' in ack) throw new Error(`expected an id, got error ${JSON.stringify(ack.error)}`);
  return ack.id;
}
