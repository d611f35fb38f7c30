import assert from 'node:assert/strict';
import type { ExecutionObject } from '../../../contract/objects.js';
import {
  hasPendingStdin,
  PENDING_STDIN_ANNOTATION,
  type PendingStdinApi,
  pendingStdinOf,
  pendingStdinStore,
  type StdinItem,
  taking,
  withAppended,
} from '../../../gateway/kubernetes/pending-stdin.js';

/**
 * One Execution in memory: merge patches of annotations, resourceVersion checked. Every read and
 * patch yields to the event loop first, so concurrent callers interleave as replicas would.
 */
function fakeApi(): PendingStdinApi & { execution: ExecutionObject; patches: number } {
  const execution = {
    apiVersion: 'sandpod.dev/v1alpha1',
    kind: 'Execution',
    metadata: { name: 'ex-a', namespace: 'ns', resourceVersion: '1' },
    spec: { runtime: 'python', source: 'print(1)', interactive: true },
  } as unknown as ExecutionObject;
  const api = {
    execution,
    patches: 0,
    readWhole: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return structuredClone(execution);
    },
    patch: async (_ref: unknown, body: unknown) => {
      await new Promise((resolve) => setImmediate(resolve));
      const patch = body as { metadata: { resourceVersion?: string; annotations: Record<string, string> } };
      if (patch.metadata.resourceVersion !== execution.metadata.resourceVersion) {
        throw Object.assign(new Error('conflict'), { code: 409 });
      }
      execution.metadata.annotations = { ...execution.metadata.annotations, ...patch.metadata.annotations };
      execution.metadata.resourceVersion = String(Number(execution.metadata.resourceVersion) + 1);
      api.patches += 1;
    },
  };
  return api;
}

const ref = { namespace: 'ns', name: 'ex-a' };
const END: StdinItem = { end: true };

describe('pending stdin', () => {
  describe('withAppended and taking', () => {
    it('should hand on chunks in order and the end last when taken', () => {
      let state = pendingStdinOf({ metadata: {} } as ExecutionObject);
      state = withAppended(state, 'a');
      state = withAppended(state, 'b\n');
      state = withAppended(state, END);
      const { items, next } = taking(state);
      assert.deepEqual(items, ['a', 'b\n', END]);
      assert.deepEqual(next, { chunks: [], end: 'taken', taken: 2 });
      assert.equal(hasPendingStdin(next), false);
    });

    it('should refuse input with stdin_closed when the end was appended or taken', () => {
      const ended = withAppended({ chunks: ['x'], taken: 0 }, END);
      assert.throws(() => withAppended(ended, 'y'), { status: 409, code: 'stdin_closed' });
      assert.throws(() => withAppended(taking(ended).next, 'y'), { status: 409, code: 'stdin_closed' });
      assert.throws(() => withAppended(ended, END), { status: 409, code: 'stdin_closed' });
    });

    it('should refuse a chunk with 413 naming data when the held input would pass the cap', () => {
      const state = withAppended({ chunks: [], taken: 0 }, 'x'.repeat(900), 1000);
      assert.throws(() => withAppended(state, 'y'.repeat(100), 1000), {
        status: 413,
        code: 'payload_too_large',
        field: 'data',
      });
      // Escaped characters count as the API server stores them.
      assert.throws(() => withAppended({ chunks: [], taken: 0 }, '\u0001'.repeat(200), 1000), { status: 413 });
    });

    it('should take an unreadable annotation as no pending input', () => {
      for (const text of ['{', 'null', '[]', '{"chunks":[1,"a"],"end":"soon","taken":-0.5}']) {
        const state = pendingStdinOf({ metadata: { annotations: { [PENDING_STDIN_ANNOTATION]: text } } } as never);
        assert.ok(
          state.chunks.every((chunk) => typeof chunk === 'string'),
          text,
        );
        assert.equal(state.end, undefined, text);
        assert.ok(Number.isSafeInteger(state.taken), text);
      }
    });
  });

  describe('pendingStdinStore', () => {
    it('should keep every append of two replicas, each in its own order, when they append at once', async () => {
      const api = fakeApi();
      const one = pendingStdinStore(api);
      const two = pendingStdinStore(api);
      const sendAll = async (store: typeof one, prefix: string) => {
        for (let i = 0; i < 5; i++) await store.append(ref, `${prefix}${i}`);
      };
      await Promise.all([sendAll(one, 'a'), sendAll(two, 'b')]);
      const chunks = pendingStdinOf(api.execution).chunks;
      assert.equal(chunks.length, 10);
      assert.deepEqual(
        chunks.filter((chunk) => chunk.startsWith('a')),
        ['a0', 'a1', 'a2', 'a3', 'a4'],
      );
      assert.deepEqual(
        chunks.filter((chunk) => chunk.startsWith('b')),
        ['b0', 'b1', 'b2', 'b3', 'b4'],
      );
    });

    it('should give each chunk to one taker only when two replicas take at once', async () => {
      const api = fakeApi();
      const store = pendingStdinStore(api);
      for (const chunk of ['1', '2', '3']) await store.append(ref, chunk);
      await store.append(ref, END);
      const [first, second] = await Promise.all([pendingStdinStore(api).take(ref), pendingStdinStore(api).take(ref)]);
      const taken = [...first, ...second];
      assert.deepEqual(taken, ['1', '2', '3', END]);
      assert.ok(first.length === 0 || second.length === 0, 'one take got all of it');
      assert.deepEqual(await store.take(ref), []);
      await assert.rejects(store.append(ref, 'late'), { code: 'stdin_closed' });
    });

    it('should write nothing when a take finds nothing pending', async () => {
      const api = fakeApi();
      assert.deepEqual(await pendingStdinStore(api).take(ref), []);
      assert.equal(api.patches, 0);
    });

    it('should hand on input appended after a take on the next take, once', async () => {
      const api = fakeApi();
      const store = pendingStdinStore(api);
      await store.append(ref, 'x');
      assert.deepEqual(await store.take(ref), ['x']);
      await store.append(ref, 'y');
      assert.deepEqual(await store.take(ref), ['y']);
      assert.deepEqual(await store.take(ref), []);
      assert.equal(pendingStdinOf(api.execution).taken, 2);
    });

    it('should answer 409 finished when the Execution is gone', async () => {
      const store = pendingStdinStore({ readWhole: async () => undefined, patch: async () => undefined });
      await assert.rejects(store.append(ref, 'x'), { status: 409, code: 'finished' });
    });
  });
});
