import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signature } from '../../../gateway/callbacks/delivery.js';
import { CallbackDispatcher } from '../../../gateway/callbacks/dispatcher.js';
import { fileDeliveryStore } from '../../../gateway/callbacks/store.js';
import { type CallbackReceiver, startCallbackReceiver } from '../../helpers/callback-receiver.js';
import { testLogger } from '../../helpers/logger.js';

const SECRET = 'a-callback-secret-of-16+';

describe('CallbackDispatcher', () => {
  let dir: string;
  let receiver: CallbackReceiver | undefined;
  const dispatchers: CallbackDispatcher[] = [];

  const dispatcher = () => {
    const made = new CallbackDispatcher({
      store: fileDeliveryStore(dir),
      secretOf: (tenant) => (tenant === 'alpha' ? SECRET : undefined),
      log: testLogger(),
      initialBackoffMs: 50,
      attemptTimeoutMs: 2000,
    });
    dispatchers.push(made);
    return made;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sandpod-callbacks-'));
  });
  afterEach(async () => {
    for (const made of dispatchers.splice(0)) made.close();
    await receiver?.close();
    receiver = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('should retry after 500s and forget the delivery once the receiver answers 200', async () => {
    receiver = await startCallbackReceiver([500, 500]);
    await dispatcher().enqueue({ id: 'ex-1', tenant: 'alpha', url: receiver.url, body: '{"id":"ex-1"}' });

    const delivered = await receiver.delivered();

    assert.equal(receiver.received.length, 3);
    assert.equal(delivered.headers['x-sandpod-signature'], signature('{"id":"ex-1"}', SECRET));
    assert.equal(delivered.headers['x-sandpod-delivery'], 'ex-1');
    assert.equal(delivered.headers['content-type'], 'application/json');
    // Removed after the 200 is seen: wait for the store to settle.
    for (let tries = 0; tries < 50 && (await readdir(dir)).length > 0; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual(await readdir(dir), []);
  });

  it('should send with PUT when the delivery says so, signed the same way', async () => {
    receiver = await startCallbackReceiver();
    await dispatcher().enqueue({
      id: 'ex-3',
      tenant: 'alpha',
      url: receiver.url,
      body: '{"token":"ex-3"}',
      method: 'PUT',
    });

    const delivered = await receiver.delivered();

    assert.equal(delivered.method, 'PUT');
    assert.equal(delivered.body, '{"token":"ex-3"}');
    assert.equal(delivered.headers['x-sandpod-signature'], signature('{"token":"ex-3"}', SECRET));
  });

  it('should leave a due delivery alone when resuming when another replica holds it', async () => {
    receiver = await startCallbackReceiver();
    const due = { id: 'ex-4', tenant: 'alpha', url: receiver.url, body: '{}', firstAttemptAt: Date.now(), attempts: 0 };
    const saved: string[] = [];
    const heldElsewhere = new CallbackDispatcher({
      // The store lists it as due, but claiming it fails: another replica took it first.
      store: {
        pending: async () => [due],
        save: async (delivery) => {
          saved.push(delivery.id);
          return false;
        },
        remove: async () => undefined,
      },
      secretOf: () => SECRET,
      log: testLogger(),
      initialBackoffMs: 50,
      attemptTimeoutMs: 2000,
    });
    dispatchers.push(heldElsewhere);

    assert.equal(await heldElsewhere.resume(), 0);
    assert.deepEqual(saved, ['ex-4']);
    // Nothing was scheduled: had it been, the attempt would have gone out at once.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(receiver.received.length, 0);
  });

  it('should deliver what a closed gateway left due when a new one resumes', async () => {
    receiver = await startCallbackReceiver([503]);
    const first = dispatcher();
    await first.enqueue({ id: 'ex-2', tenant: 'alpha', url: receiver.url, body: '{"id":"ex-2"}' });
    while (receiver.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    first.close();
    // A retry may be half-written (a .new file) at close; what counts is the stored delivery.
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.endsWith('.json')),
      ['ex-2.json'],
    );

    assert.equal(await dispatcher().resume(), 1);
    const delivered = await receiver.delivered();

    assert.equal(delivered.body, '{"id":"ex-2"}');
    assert.equal(receiver.received.length, 2);
  });
});
