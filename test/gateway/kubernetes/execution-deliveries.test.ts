import assert from 'node:assert/strict';
import type { ExecutionObject } from '../../../contract/objects.js';
import {
  CALLBACK_ANNOTATION,
  type DeliveryApi,
  executionDeliveryStore,
} from '../../../gateway/kubernetes/execution-deliveries.js';
import { CALLBACK_FORMAT_ANNOTATION } from '../../../gateway/kubernetes/execution-object.js';

/** An API server of one namespace in memory: merge patches of annotations, resourceVersion checked. */
function fakeApi(executions: ExecutionObject[]): DeliveryApi & { objects: Map<string, ExecutionObject> } {
  const objects = new Map(executions.map((execution) => [execution.metadata.name ?? '', execution]));
  return {
    objects,
    list: () => [...objects.values()],
    readWhole: async (ref) => structuredClone(objects.get(ref.name)),
    refOf: (_tenant, id) => ({ namespace: 'ns', name: id }),
    patch: async (ref, body) => {
      const current = objects.get(ref.name);
      if (!current) throw Object.assign(new Error('gone'), { code: 404 });
      const patch = body as { metadata: { resourceVersion?: string; annotations: Record<string, string> } };
      if (patch.metadata.resourceVersion && patch.metadata.resourceVersion !== current.metadata.resourceVersion) {
        throw Object.assign(new Error('conflict'), { code: 409 });
      }
      current.metadata.annotations = { ...current.metadata.annotations, ...patch.metadata.annotations };
      current.metadata.resourceVersion = String(Number(current.metadata.resourceVersion) + 1);
    },
  };
}

function execution(name: string, phase: 'Running' | 'Succeeded', callbackUrl?: string): ExecutionObject {
  return {
    apiVersion: 'sandpod.dev/v1alpha1',
    kind: 'Execution',
    metadata: { name, namespace: 'ns', resourceVersion: '1', labels: { 'sandpod.dev/tenant': 'alpha' } },
    spec: { runtime: 'python', source: 'print(1)', ...(callbackUrl ? { callbackUrl } : {}) },
    status: { phase, reason: phase === 'Succeeded' ? 'Completed' : null, stdout: '1\n' },
  } as unknown as ExecutionObject;
}

const delivery = { id: 'ex-a', tenant: 'alpha', url: 'http://hooks/', body: '{}', firstAttemptAt: 1000, attempts: 0 };

describe('executionDeliveryStore', () => {
  it('should let one replica hold a delivery and refuse another until the hold runs out', async () => {
    const api = fakeApi([execution('ex-a', 'Succeeded', 'http://hooks/')]);
    let now = 1000;
    const first = executionDeliveryStore({ api, holder: 'one', holdMs: 60_000, now: () => now });
    const second = executionDeliveryStore({ api, holder: 'two', holdMs: 60_000, now: () => now });

    assert.equal(await first.save(delivery), true);
    assert.equal(await second.save(delivery), false);
    assert.deepEqual(await second.pending(), []);
    now += 61_000;
    const left = await second.pending();
    assert.equal(left.length, 1);
    assert.equal(left[0]?.url, 'http://hooks/');
    assert.equal(JSON.parse(left[0]?.body ?? '{}').stdout, '1\n');
    assert.equal(await second.save({ ...delivery, attempts: 1 }), true);
  });

  it('should refuse the loser of two replicas taking the same delivery at once', async () => {
    const api = fakeApi([execution('ex-a', 'Succeeded', 'http://hooks/')]);
    const stale = await api.readWhole({ namespace: 'ns', name: 'ex-a' });
    const first = executionDeliveryStore({ api, holder: 'one', holdMs: 60_000 });
    const second = executionDeliveryStore({
      api: { ...api, readWhole: async () => structuredClone(stale) },
      holder: 'two',
      holdMs: 60_000,
    });

    assert.equal(await first.save(delivery), true);
    assert.equal(await second.save(delivery), false);
  });

  it("should give a Judge0 submission's Execution a PUT of Judge0's body when its format says judge0", async () => {
    const judged = execution('ex-j', 'Succeeded', 'http://hooks/');
    judged.metadata.annotations = { [CALLBACK_FORMAT_ANNOTATION]: 'judge0' };
    const store = executionDeliveryStore({
      api: fakeApi([judged, execution('ex-a', 'Succeeded', 'http://hooks/')]),
      holder: 'one',
      holdMs: 60_000,
    });

    const due = await store.pending();

    assert.deepEqual(
      due.map((delivery) => [delivery.id, delivery.method]),
      [
        ['ex-j', 'PUT'],
        ['ex-a', 'POST'],
      ],
    );
    const body = JSON.parse(due[0]?.body ?? '{}') as Record<string, unknown>;
    assert.equal(body.token, 'ex-j');
    assert.equal(body.stdout, Buffer.from('1\n').toString('base64'));
    assert.deepEqual(body.status, { id: 3, description: 'Accepted' });
  });

  it('should list only finished Executions with a callbackUrl that are not done', async () => {
    const api = fakeApi([
      execution('ex-a', 'Succeeded', 'http://hooks/'),
      execution('ex-b', 'Running', 'http://hooks/'),
      execution('ex-c', 'Succeeded'),
    ]);
    const store = executionDeliveryStore({ api, holder: 'one', holdMs: 60_000 });

    assert.deepEqual(
      (await store.pending()).map((due) => due.id),
      ['ex-a'],
    );
    await store.remove('ex-a');
    assert.deepEqual(await store.pending(), []);
    assert.match(api.objects.get('ex-a')?.metadata.annotations?.[CALLBACK_ANNOTATION] ?? '', /"state":"done"/);
  });
});
