import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type Socket as ClientSocket, io as connectClient } from 'socket.io-client';
import { type EmbeddedFixture, startEmbedded, testConfig } from '../../helpers/embedded.js';
import { FuzzTally, fuzzParameters, watchProcessFailures } from '../../helpers/fuzz.js';
import { connectSocket, type RunningGateway, sha256Hex, startGateway } from '../../helpers/gateway.js';

// Property-based fuzzing of the Socket.IO API on a real embedded gateway with real
// socket.io-client: sequences of events in any order (stdin before run, attach to ids that do not
// exist, cancel twice, EOF twice), payloads of every type (binary, odd Unicode, nesting, above the
// message size), with and without acks. Every ack must come, in the contract's shape and never an
// internal error; after each sequence a fresh socket must still be served; at the end a real
// interactive program still runs, every execution started has ended and nothing was unhandled.

const ACK_TIMEOUT_MS = 15_000;
const MAX_MESSAGE_BYTES = 64 * 1024;
const EVENTS = ['run', 'attach', 'stdin', 'stdin:end', 'cancel'] as const;

const oddText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('', '\u0000', '\uD800', '\uFEFF', '\u202E', '__proto__', 'constructor', 'toString'),
);

/** Any value socket.io can carry: JSON, binary, nesting. */
const oddValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    oddText,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(oddText, tie('value'), { maxKeys: 4 }),
  ),
})).value;

type IdChoice = 'last' | 'unknown' | 'odd';

interface Action {
  event: (typeof EVENTS)[number] | 'unknown-event';
  /** For the id-carrying events: the id of the last run, a made-up one, or any value. */
  id: IdChoice;
  oddId: unknown;
  payload: 'valid' | 'odd' | 'huge' | 'none' | 'binary';
  oddPayload: unknown;
  ack: boolean;
  extraArgs: unknown[];
}

const action: fc.Arbitrary<Action> = fc.record({
  event: fc.constantFrom(...EVENTS, 'unknown-event'),
  id: fc.constantFrom<IdChoice>('last', 'last', 'unknown', 'odd'),
  oddId: oddValue,
  payload: fc.oneof(
    { arbitrary: fc.constant('valid' as const), weight: 10 },
    { arbitrary: fc.constant('odd' as const), weight: 4 },
    { arbitrary: fc.constant('none' as const), weight: 2 },
    { arbitrary: fc.constant('binary' as const), weight: 2 },
    { arbitrary: fc.constant('huge' as const), weight: 1 },
  ),
  oddPayload: oddValue,
  ack: fc.constantFrom(true, true, true, false),
  extraArgs: fc.array(oddValue, { maxLength: 2 }),
});

/** What each event carries when it is well formed; `run` starts a real, short interactive program. */
function validPayload(event: Action['event'], id: unknown): unknown {
  switch (event) {
    case 'run':
      return { runtime: 'bash', source: 'read line; echo "[$line]"', interactive: true, limits: { wallTimeMs: 3000 } };
    case 'stdin':
      return { id, data: 'typed\n' };
    default:
      return { id };
  }
}

describe('Socket.IO fuzzing', function () {
  this.timeout(300_000);
  let fixture: EmbeddedFixture;
  let running: RunningGateway;
  const tally = new FuzzTally();
  const watch = watchProcessFailures();
  const started = new Set<string>();

  before(async () => {
    const config = testConfig(
      {
        tenantDefaults: { maxConcurrent: 64, ratePerSecond: 10_000, burst: 10_000 },
        socket: { maxMessageBytes: MAX_MESSAGE_BYTES, disconnectGraceMs: 100, maxFollowed: 4 },
      },
      { maxRunning: 2, maxQueued: 64 },
    );
    fixture = await startEmbedded(config);
    running = await startGateway(config, fixture.backend);
  });

  after(async () => {
    watch.stop();
    tally.print('Socket.IO fuzz');
    await running?.close();
    await fixture?.close();
  });

  const assertAckShape = (ack: unknown, what: string) => {
    assert.ok(ack !== null && typeof ack === 'object', `${what}: ack ${JSON.stringify(ack)}`);
    if ('id' in ack) {
      assert.equal(typeof (ack as { id: unknown }).id, 'string', `${what}: ack id`);
      return;
    }
    const error = (ack as { error?: { code?: unknown; message?: unknown; field?: unknown } }).error;
    assert.equal(typeof error?.code, 'string', `${what}: ack ${JSON.stringify(ack)}`);
    assert.equal(typeof error?.message, 'string', `${what}: ack without a message`);
    assert.notEqual(error?.code, 'internal', `${what}: internal error ${error?.message}`);
    tally.add(`error:${String(error?.code)}`);
  };

  /** Plays one sequence on one socket; returns whether the server closed the socket. */
  const play = async (socket: ClientSocket, actions: Action[]) => {
    let lastId: string | undefined;
    for (const step of actions) {
      if (!socket.connected) return true;
      const id = step.id === 'last' ? (lastId ?? 'never-started') : step.id === 'unknown' ? 'no-such-id' : step.oddId;
      let payload: unknown;
      if (step.payload === 'valid') payload = validPayload(step.event, id);
      else if (step.payload === 'odd') payload = step.oddPayload;
      else if (step.payload === 'binary')
        payload = { id: Buffer.from(JSON.stringify(id) ?? ''), data: Buffer.from('bytes') };
      else if (step.payload === 'huge') payload = { id, data: 'x'.repeat(MAX_MESSAGE_BYTES + 1) };
      const args = step.payload === 'none' ? [...step.extraArgs] : [payload, ...step.extraArgs];
      const what = `${step.event}(${JSON.stringify(args).slice(0, 160)})`;
      tally.add(`event:${step.event}:${step.payload}`);
      if (step.payload === 'huge') {
        // Above the message size the server closes the socket; nothing else may happen.
        const closed = new Promise((resolve, reject) => {
          socket.once('disconnect', resolve);
          setTimeout(() => reject(new Error(`${step.event}: a huge message did not close the socket`)), ACK_TIMEOUT_MS);
        });
        socket.emit(step.event, ...args);
        await closed;
        return true;
      }
      if (!step.ack || step.event === 'unknown-event') {
        socket.emit(step.event, ...args);
        continue;
      }
      const ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(step.event, ...args);
      assertAckShape(ack, what);
      if (step.event === 'run' && 'id' in (ack as object)) {
        lastId = (ack as { id: string }).id;
        started.add(lastId);
        tally.add('runs-started');
      }
    }
    // What a sequence started is cancelled, so that at most a few programs ever run at once.
    if (lastId && socket.connected) await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('cancel', { id: lastId });
    return !socket.connected;
  };

  /** A fresh socket gets a well-formed not-found for a made-up id: the server still serves. */
  const assertServing = async () => {
    const { socket } = await connectSocket(running.url);
    try {
      const ack = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('attach', { id: 'probe-no-such-id' })) as {
        error?: { code: string };
      };
      assert.equal(ack.error?.code, 'not_found');
    } finally {
      socket.close();
    }
  };

  it('should ack every event sequence in the contract shape and keep serving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 8 }), async (actions) => {
        const { socket } = await connectSocket(running.url);
        try {
          if (await play(socket, actions)) tally.add('sockets-closed-by-server');
        } finally {
          socket.close();
        }
        await assertServing();
      }),
      fuzzParameters(300),
    );
  });

  it('should refuse a handshake with any odd token with a well-formed 401 when tenants need tokens', async () => {
    const token = 'socket-fuzz-token-0123456789';
    const config = testConfig({ tenants: [{ name: 'alpha', tokenSha256: [sha256Hex(token)] }] });
    const guarded = await startGateway(config, fixture.backend);
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            oddValue,
            oddText.map((text) => `${token}${text}`),
          ),
          async (offered) => {
            if (offered === token) return;
            const socket = connectClient(guarded.url, {
              auth: { token: offered } as Record<string, unknown>,
              transports: ['websocket'],
              reconnection: false,
              forceNew: true,
            });
            try {
              const outcome = await new Promise<{ connected: boolean; data?: unknown }>((resolve) => {
                socket.once('connect', () => resolve({ connected: true }));
                socket.once('connect_error', (error: Error & { data?: unknown }) =>
                  resolve({ connected: false, data: error.data }),
                );
              });
              assert.equal(outcome.connected, false, `token ${JSON.stringify(offered)} was let in`);
              assert.equal((outcome.data as { error?: { code?: string } })?.error?.code, 'unauthorized');
              tally.add('handshakes-refused');
            } finally {
              socket.close();
            }
          },
        ),
        fuzzParameters(100),
      );
    } finally {
      await guarded.close();
    }
  });

  it('should refuse stdin before run, attach to unknown ids and a second cancel without failing', async () => {
    const { socket, recorder } = await connectSocket(running.url);
    try {
      const early = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('stdin', { id: 'not-yet', data: 'x' })) as {
        error?: { code: string };
      };
      assert.equal(early.error?.code, 'not_found');
      const ack = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('run', validPayload('run', undefined))) as {
        id: string;
      };
      started.add(ack.id);
      for (let twice = 0; twice < 2; twice++) {
        const cancelled = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('cancel', { id: ack.id })) as object;
        assertAckShape(cancelled, 'cancel');
      }
      const result = await recorder.untilExit(ack.id);
      assert.equal(result.reason, 'Cancelled');
      const afterEnd = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('stdin', { id: ack.id, data: 'late' })) as {
        error?: { code: string };
      };
      assert.equal(afterEnd.error?.code, 'finished');
    } finally {
      socket.close();
    }
  });

  it('should still run an interactive program, with every started execution ended and nothing unhandled', async () => {
    const { socket, recorder } = await connectSocket(running.url);
    try {
      const ack = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('run', validPayload('run', undefined))) as {
        id: string;
      };
      await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('stdin', { id: ack.id, data: 'still here\n' });
      const result = await recorder.untilExit(ack.id);
      assert.equal(result.reason, 'Completed');
      assert.equal(recorder.stdout(ack.id), '[still here]\n');
    } finally {
      socket.close();
    }
    for (const id of started) {
      const result = await fixture.backend.wait('default', id);
      assert.ok(result && ['Succeeded', 'Failed'].includes(result.phase), `execution ${id} did not end`);
      tally.add(result.message === 'cancelled before it started' ? 'runs:never-ran' : 'runs:ran-in-sandbox');
    }
    assert.deepEqual(watch.failures, []);
  });
});
