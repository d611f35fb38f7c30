import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import type { ExecutionStatus } from '../../../contract/crd.js';
import type { ExecutionObject } from '../../../contract/objects.js';
import type { ExecutionEvent } from '../../../gateway/backend.js';
import { parseConfig } from '../../../gateway/config.js';
import { ExecutionChanges } from '../../../gateway/kubernetes/execution-changes.js';
import { slimExecution } from '../../../gateway/kubernetes/execution-object.js';
import { type FollowContext, followExecution, logPath } from '../../../gateway/kubernetes/follow.js';
import type { ExecutionRef } from '../../../gateway/kubernetes/names.js';
import { podNameOf } from '../../../gateway/kubernetes/pod-start.js';
import type { Listener, ObjectWatch } from '../../../kube/watched-objects.js';
import { testLogger } from '../../helpers/gateway.js';

// The watch-driven paths of following an Execution, with a stand-in watch: phase changes, replay
// from status, deletion. Reading pod logs needs a cluster (test/gateway/kubernetes/*.cluster.test.ts).

const ref: ExecutionRef = { namespace: 'sandpod-alpha', name: 'ex-1' };

/** Holds whole Executions as the API server would and hands out slim ones as the real watch does. */
class FakeWatch implements ObjectWatch<ExecutionObject> {
  readonly problem = undefined;
  readonly whole = new Map<string, ExecutionObject>();
  private readonly objects = new Map<string, ExecutionObject>();
  private readonly listeners = new Set<Listener<ExecutionObject>>();

  put(status: Partial<ExecutionStatus> | undefined): void {
    const execution: ExecutionObject = {
      apiVersion: 'sandpod.dev/v1alpha1',
      kind: 'Execution',
      metadata: { name: ref.name, namespace: ref.namespace, creationTimestamp: new Date('2026-01-01T00:00:00Z') },
      spec: { runtime: 'python', source: '', limits: { outputBytes: 1024 } },
      ...(status ? { status } : {}),
    };
    this.whole.set(ref.name, execution);
    const slim = slimExecution(execution);
    this.objects.set(ref.name, slim);
    for (const listener of [...this.listeners]) listener(slim);
  }

  remove(): void {
    this.objects.delete(ref.name);
    this.whole.delete(ref.name);
    for (const listener of [...this.listeners]) listener(undefined);
  }

  get(_namespace: string, name: string) {
    return this.objects.get(name);
  }

  list() {
    return [...this.objects.values()];
  }

  subscribe(_namespace: string, _name: string, listener: Listener<ExecutionObject>) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  async stop() {}
}

function context(watch: FakeWatch): FollowContext {
  return {
    kubeConfig: new KubeConfig(),
    executions: watch,
    settings: parseConfig({}).kubernetes,
    splitStreams: { refused: false },
    read: async (where) => watch.get(where.namespace, where.name),
    readWhole: async (where) => watch.whole.get(where.name),
    log: testLogger(),
    now: () => new Date('2026-01-01T00:01:00Z'),
  };
}

const describeEvent = (event: ExecutionEvent) =>
  event.type === 'output'
    ? `${event.stream}:${event.data}`
    : event.type === 'status'
      ? event.phase
      : `exit:${event.result.reason}`;

async function collect(events: AsyncIterable<ExecutionEvent>): Promise<string[]> {
  const seen: string[] = [];
  for await (const event of events) seen.push(describeEvent(event));
  return seen;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('followExecution', () => {
  it('should replay status output then exit when the execution has finished', async () => {
    const watch = new FakeWatch();
    watch.put({ phase: 'Succeeded', reason: 'Completed', stdout: 'out', stderr: 'err' });

    const events = await collect(followExecution(context(watch), ref, () => true, new AbortController().signal));

    assert.deepEqual(events, ['Succeeded', 'stdout:out', 'stderr:err', 'exit:Completed']);
    assert.equal(watch.subscribers, 0);
  });

  it('should send phase changes as they come and the terminal phase right before exit', async () => {
    const watch = new FakeWatch();
    watch.put(undefined);
    const following = collect(followExecution(context(watch), ref, () => true, new AbortController().signal));
    await tick();

    watch.put({ phase: 'Pending', message: 'starting the pod' });
    await tick();
    watch.put({ phase: 'Failed', reason: 'Cancelled', stdout: 'x' });

    assert.deepEqual(await following, ['Pending', 'stdout:x', 'Failed', 'exit:Cancelled']);
  });

  it('should end with a SystemError exit when the Execution is deleted before it finishes', async () => {
    const watch = new FakeWatch();
    watch.put({ phase: 'Pending' });
    const following = collect(followExecution(context(watch), ref, () => true, new AbortController().signal));
    await tick();

    watch.remove();

    assert.deepEqual(await following, ['Pending', 'Failed', 'exit:SystemError']);
  });

  it('should throw 404 when the Execution does not belong to the tenant', async () => {
    const watch = new FakeWatch();
    watch.put({ phase: 'Pending' });

    await assert.rejects(collect(followExecution(context(watch), ref, () => false, new AbortController().signal)), {
      status: 404,
    });
    assert.equal(watch.subscribers, 0);
  });

  it('should stop without exit and unsubscribe when the signal aborts', async () => {
    const watch = new FakeWatch();
    watch.put({ phase: 'Pending' });
    const controller = new AbortController();
    const following = collect(followExecution(context(watch), ref, () => true, controller.signal));
    await tick();

    controller.abort();

    assert.deepEqual(await following, ['Pending']);
    assert.equal(watch.subscribers, 0);
  });
});

describe('ExecutionChanges', () => {
  it('should keep a version that arrives before anyone asks', async () => {
    const watch = new FakeWatch();
    const changes = new ExecutionChanges(watch, ref);

    watch.put({ phase: 'Running' });
    const change = await changes.next(new AbortController().signal);

    assert.ok(change && 'execution' in change);
    assert.equal(change.execution.status?.phase, 'Running');
    changes.close();
  });

  it('should give the latest version only when several arrive while nobody asks', async () => {
    const watch = new FakeWatch();
    const changes = new ExecutionChanges(watch, ref);

    watch.put({ phase: 'Pending' });
    watch.put({ phase: 'Running' });
    const change = await changes.next(new AbortController().signal);

    assert.ok(change && 'execution' in change);
    assert.equal(change.execution.status?.phase, 'Running');
    changes.close();
  });

  it('should answer undefined after the timeout when nothing changes', async () => {
    const changes = new ExecutionChanges(new FakeWatch(), ref);

    assert.equal(await changes.next(new AbortController().signal, 5), undefined);
    changes.close();
  });

  it('should unsubscribe by itself after a finished version', async () => {
    const watch = new FakeWatch();
    const changes = new ExecutionChanges(watch, ref);

    watch.put({ phase: 'Succeeded', reason: 'Completed' });
    await changes.next(new AbortController().signal);

    assert.equal(watch.subscribers, 0);
  });
});

describe('pod log addressing', () => {
  it("should name the pod status gives, else the operator's child name", () => {
    const execution = {
      metadata: { name: 'ex-1' },
      spec: { runtime: 'python' },
    } as ExecutionObject;

    assert.equal(podNameOf(execution), 'ex-1-run');
    assert.equal(podNameOf({ ...execution, status: { podName: 'other' } }), 'other');
  });

  it('should follow the run container and ask for one stream when split', () => {
    assert.equal(
      logPath('ns', 'ex-1-run', 'Stderr'),
      '/api/v1/namespaces/ns/pods/ex-1-run/log?container=run&follow=true&stream=Stderr',
    );
    assert.equal(
      logPath('ns', 'ex-1-run', undefined),
      '/api/v1/namespaces/ns/pods/ex-1-run/log?container=run&follow=true',
    );
  });
});
