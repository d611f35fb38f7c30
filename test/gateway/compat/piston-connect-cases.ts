import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { connectSocket, emitWithAck } from '../../helpers/gateway.js';

// The cases of Piston's connect WebSocket, the same on both backends (piston-connect.sandbox.test.ts,
// piston-connect.cluster.test.ts).

interface Message {
  type: string;
  [key: string]: unknown;
}

/** A Piston connect client that records every message and the close. */
class ConnectClient {
  readonly messages: Message[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #waiters = new Set<() => void>();

  constructor(readonly socket: WebSocket) {
    socket.on('message', (raw) => {
      this.messages.push(JSON.parse(String(raw)) as Message);
      for (const waiter of [...this.#waiters]) waiter();
    });
    this.closed = once(socket, 'close').then(([code, reason]) => ({
      code: code as number,
      reason: String(reason),
    }));
  }

  static async open(url: string): Promise<ConnectClient> {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/piston/api/v2/connect`);
    const client = new ConnectClient(socket);
    await once(socket, 'open');
    return client;
  }

  send(message: Record<string, unknown>): void {
    this.socket.send(JSON.stringify(message));
  }

  until(predicate: (message: Message) => boolean): Promise<Message> {
    return new Promise((resolve) => {
      const check = () => {
        const found = this.messages.find(predicate);
        if (!found) return;
        this.#waiters.delete(check);
        resolve(found);
      };
      this.#waiters.add(check);
      check();
    });
  }
}

export interface PistonConnectContext {
  /** The gateway's base URL; its clients on loopback are served without a token. */
  url(): string;
}

export function pistonConnectCases(context: PistonConnectContext): void {
  const clients: ConnectClient[] = [];
  const open = async () => {
    const client = await ConnectClient.open(context.url());
    clients.push(client);
    return client;
  };

  afterEach(() => {
    for (const client of clients.splice(0)) client.socket.terminate();
  });

  it('should run a program, pass stdin and report its exit when a client speaks the protocol', async () => {
    const client = await open();
    client.send({
      type: 'init',
      language: 'python',
      version: '*',
      files: [{ content: 'name = input()\nprint("hello", name)\n' }],
    });
    // Sent at once after init, before the program started: it waits for it, as in Piston.
    client.send({ type: 'data', stream: 'stdin', data: 'piston\n' });
    const runtime = await client.until((message) => message.type === 'runtime');
    assert.equal(runtime.language, 'python');
    await client.until((message) => message.type === 'stage' && message.stage === 'run');
    const exit = await client.until((message) => message.type === 'exit');
    assert.deepEqual(exit, { type: 'exit', stage: 'run', code: 0, signal: null });
    const stdout = client.messages
      .filter((message) => message.type === 'data' && message.stream === 'stdout')
      .map((message) => message.data)
      .join('');
    assert.equal(stdout, 'hello piston\n');
    assert.deepEqual(await client.closed, { code: 4999, reason: 'Job Completed' });
  });

  it('should stop the program when the client sends a signal', async () => {
    const client = await open();
    client.send({ type: 'init', language: 'bash', version: '*', files: [{ content: 'echo ready; sleep 60' }] });
    await client.until((message) => message.type === 'data' && message.data === 'ready\n');
    client.send({ type: 'signal', signal: 'SIGKILL' });
    const exit = await client.until((message) => message.type === 'exit');
    assert.equal(exit.code, null);
    assert.equal((await client.closed).code, 4999);
  });

  it('should close with Piston codes when a client breaks the protocol', async () => {
    const early = await open();
    early.send({ type: 'data', stream: 'stdin', data: 'x' });
    assert.deepEqual(await early.closed, { code: 4003, reason: 'Not yet Initialized' });

    const silent = await open();
    assert.deepEqual(await silent.closed, { code: 4001, reason: 'Initialization Timeout' });

    const unknown = await open();
    unknown.send({ type: 'init', language: 'no-such-language', version: '*', files: [{ content: '' }] });
    const error = await unknown.until((message) => message.type === 'error');
    assert.equal(error.message, 'no-such-language-* runtime is unknown');
    assert.equal((await unknown.closed).code, 4002);
  });

  it('should refuse the upgrade with 401 when the client is not a tenant', async () => {
    // Without tenants only this machine's own names are served; another Host is refused.
    const socket = new WebSocket(`${context.url().replace(/^http/, 'ws')}/piston/api/v2/connect`, {
      headers: { host: 'elsewhere.example' },
    });
    const [, response] = (await once(socket, 'unexpected-response')) as [unknown, { statusCode: number }];
    assert.equal(response.statusCode, 401);
    // Ending a refused handshake reports an error of its own; it is expected here.
    socket.once('error', () => undefined);
    socket.terminate();
  });

  it('should leave Socket.IO working on the same server when the WebSocket is attached', async () => {
    const { socket, recorder } = await connectSocket(context.url());
    try {
      const ack = await emitWithAck(socket, 'run', { runtime: 'python', source: 'print("io")' });
      assert.ok('id' in ack, JSON.stringify(ack));
      // A streamed client gets the output as events; the exit event leaves it out.
      const result = await recorder.untilExit(ack.id);
      assert.equal(result.reason, 'Completed');
      assert.equal(recorder.stdout(ack.id), 'io\n');
    } finally {
      socket.close();
    }
  });
}
