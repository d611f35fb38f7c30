import assert from 'node:assert/strict';
import type { ExecutionResult } from '../../../contract/index.js';
import type { ExecutionBackend, ExecutionEvent } from '../../../gateway/backend.js';
import { parseConfig } from '../../../gateway/config.js';
import {
  ackId,
  connectSocket,
  emitWithAck,
  type RunningGateway,
  sha256Hex,
  startGateway,
} from '../../helpers/gateway.js';

// The socket layer alone, over a backend whose output stream takes its time to notice an abort, as a
// stream waiting on the Kubernetes API can: the orphan check after a disconnect must not count the
// closed socket as still following.

const TOKEN = 'orphan-token';
const GRACE_MS = 50;
const SLOW_ABORT_MS = 1500;

function slowBackend(onCancel: (id: string) => void): ExecutionBackend {
  const running: ExecutionResult = {
    id: 'ex-1',
    runtime: 'python',
    phase: 'Running',
  } as ExecutionResult;
  return {
    runtimes: async () => [{ name: 'python', version: '3', aliases: [], compiled: false, fileName: 'main.py' }],
    start: async () => ({ id: 'ex-1' }),
    get: async () => running,
    cancel: async (_tenant, id) => {
      onCancel(id);
      return true;
    },
    stdin: async () => undefined,
    follow: () =>
      (async function* (): AsyncGenerator<ExecutionEvent> {
        yield { type: 'status', phase: 'Running' };
        // Ignores the abort signal for a while, then ends without an exit.
        await new Promise((resolve) => setTimeout(resolve, SLOW_ABORT_MS));
      })(),
    wait: async () => running,
    load: () => ({ running: 1, queued: 0 }),
    ready: async () => true,
    close: async () => undefined,
  };
}

describe('socket orphans', () => {
  let gateway: RunningGateway | undefined;

  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
  });

  it('should cancel an interactive execution after the grace when its follow is slow to stop', async () => {
    let cancelledId: (id: string) => void = () => undefined;
    const cancelled = new Promise<string>((resolve) => {
      cancelledId = resolve;
    });
    const config = parseConfig({
      tenants: [{ name: 'alpha', tokenSha256: [sha256Hex(TOKEN)] }],
      socket: { disconnectGraceMs: GRACE_MS },
    });
    gateway = await startGateway(
      config,
      slowBackend((id) => cancelledId(id)),
    );
    const { socket } = await connectSocket(gateway.url, TOKEN);
    const id = ackId(await emitWithAck(socket, 'run', { runtime: 'python', source: 'input()\n', interactive: true }));

    socket.close();
    // The grace has long passed before the stream ends by itself; only then would a late count let go.
    const streamEnded = new Promise<string>((resolve) => setTimeout(() => resolve('not cancelled'), SLOW_ABORT_MS));

    assert.equal(await Promise.race([cancelled, streamEnded]), id);
  });
});

// Two replicas: a client that loses its socket to one and attaches through the other still
// follows its interactive execution, and the replica it left must not cancel it. The replicas share
// only the API server, so the backend notes each attach where every replica reads it.
describe('socket orphans across replicas', () => {
  let gateways: RunningGateway[] = [];

  afterEach(async () => {
    await Promise.all(gateways.map((gateway) => gateway.close()));
    gateways = [];
  });

  /** A backend standing for one replica over a shared store of attach times (the Execution). */
  function replicaBackend(
    attachedAt: Map<string, number>,
    cancels: string[],
    onCancel: () => void = () => undefined,
    notesRefused = 0,
  ): ExecutionBackend {
    let refused = 0;
    const running = { id: 'ex-1', runtime: 'python', phase: 'Running' } as ExecutionResult;
    return {
      runtimes: async () => [{ name: 'python', version: '3', aliases: [], compiled: false, fileName: 'main.py' }],
      start: async () => ({ id: 'ex-1' }),
      get: async () => running,
      cancel: async (_tenant, id) => {
        cancels.push(id);
        onCancel();
        return true;
      },
      stdin: async () => undefined,
      follow: (_tenant, _id, signal) =>
        (async function* (): AsyncGenerator<ExecutionEvent> {
          yield { type: 'status', phase: 'Running' };
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        })(),
      noteAttach: async (_tenant, id) => {
        // An API server restarting refuses the first notes.
        if (refused < notesRefused) {
          refused += 1;
          throw new Error('the Kubernetes API server failed: fetch failed');
        }
        attachedAt.set(id, Date.now());
      },
      attachedSince: async (_tenant, id, sinceMs) => (attachedAt.get(id) ?? Number.NEGATIVE_INFINITY) >= sinceMs,
      wait: async () => running,
      load: () => ({ running: 1, queued: 0 }),
      ready: async () => true,
      close: async () => undefined,
    };
  }

  const config = () =>
    parseConfig({
      tenants: [{ name: 'alpha', tokenSha256: [sha256Hex(TOKEN)] }],
      socket: { disconnectGraceMs: 300 },
    });

  it('should not cancel an interactive execution when its client attached through another replica within the grace', async () => {
    const attachedAt = new Map<string, number>();
    const cancels: string[] = [];
    gateways = [
      await startGateway(config(), replicaBackend(attachedAt, cancels)),
      await startGateway(config(), replicaBackend(attachedAt, cancels)),
    ];
    const first = await connectSocket(gateways[0]?.url as string, TOKEN);
    const id = ackId(
      await emitWithAck(first.socket, 'run', { runtime: 'python', source: 'input()\n', interactive: true }),
    );
    first.socket.close();
    const second = await connectSocket(gateways[1]?.url as string, TOKEN);
    assert.equal(ackId(await emitWithAck(second.socket, 'attach', { id })), id);

    // Well past the grace of the replica that was left.
    await new Promise((resolve) => setTimeout(resolve, 900));
    second.socket.close();
    assert.deepEqual(cancels, []);
    assert.ok(attachedAt.has(id), 'the attach was noted where the other replica reads it');
  });

  it('should not cancel it when the note of the attach went through only on a later try', async function () {
    this.timeout(10_000);
    const attachedAt = new Map<string, number>();
    const cancels: string[] = [];
    const slowConfig = parseConfig({
      tenants: [{ name: 'alpha', tokenSha256: [sha256Hex(TOKEN)] }],
      socket: { disconnectGraceMs: 1500 },
    });
    gateways = [
      await startGateway(slowConfig, replicaBackend(attachedAt, cancels)),
      await startGateway(
        slowConfig,
        replicaBackend(attachedAt, cancels, () => undefined, 1),
      ),
    ];
    const first = await connectSocket(gateways[0]?.url as string, TOKEN);
    const id = ackId(
      await emitWithAck(first.socket, 'run', { runtime: 'python', source: 'input()\n', interactive: true }),
    );
    first.socket.close();
    const second = await connectSocket(gateways[1]?.url as string, TOKEN);
    assert.equal(ackId(await emitWithAck(second.socket, 'attach', { id })), id, 'the attach is acked all the same');

    await new Promise((resolve) => setTimeout(resolve, 2500));
    second.socket.close();
    assert.deepEqual(cancels, []);
  });

  it('should still cancel it when the client attached elsewhere only before it disconnected', async () => {
    const attachedAt = new Map<string, number>();
    const cancels: string[] = [];
    let onCancel: () => void = () => undefined;
    const cancelled = new Promise<void>((resolve) => {
      onCancel = resolve;
    });
    gateways = [
      await startGateway(
        config(),
        replicaBackend(attachedAt, cancels, () => onCancel()),
      ),
      await startGateway(
        config(),
        replicaBackend(attachedAt, cancels, () => onCancel()),
      ),
    ];
    const first = await connectSocket(gateways[0]?.url as string, TOKEN);
    const id = ackId(
      await emitWithAck(first.socket, 'run', { runtime: 'python', source: 'input()\n', interactive: true }),
    );
    const other = await connectSocket(gateways[1]?.url as string, TOKEN);
    await emitWithAck(other.socket, 'attach', { id });
    other.socket.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    first.socket.close();

    await cancelled;
    assert.deepEqual(cancels, [id]);
  });
});
