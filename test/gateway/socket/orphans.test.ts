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
