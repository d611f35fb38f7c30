import assert from 'node:assert/strict';
import winston from 'winston';
import { PermanentError, Reconciler, recheck } from '../../operator/reconciler.js';
import { at, container, execution, policy, runtime, T0, terminated } from './fixtures.js';
import { World } from './world.js';

const silent = winston.createLogger({ silent: true });
const KEY = 'tenant-a/hello';

function setup(spec: Parameters<typeof execution>[0] = {}) {
  const world = new World();
  world.runtimeObjects.push(runtime());
  world.addExecution(execution(spec));
  let now = at(1);
  const reconciler = new Reconciler(world, world, policy(), silent, () => now);
  return {
    world,
    reconciler,
    pass: () => reconciler.reconcile(KEY),
    setNow: (date: Date) => {
      now = date;
    },
    current: () => world.stored('tenant-a', 'hello'),
  };
}

describe('Reconciler', () => {
  it('should create one Secret and one pod however many passes run', async () => {
    const { world, pass, current } = setup();
    for (let i = 0; i < 5; i += 1) await pass();
    assert.equal(world.podsCreated, 1);
    assert.ok(world.pods.has('tenant-a/hello-run'));
    assert.ok(world.secrets.has('tenant-a/hello-input'));
    assert.equal(current()?.status?.phase, 'Pending');
    assert.equal(current()?.status?.podName, 'hello-run');
  });

  it('should write status only when it changed', async () => {
    const { pass, current } = setup();
    await pass();
    const version = current()?.metadata.resourceVersion;
    await pass();
    await pass();
    assert.equal(current()?.metadata.resourceVersion, version);
  });

  it('should capture output into status, then delete the pod and Secret, when the program finished', async () => {
    const { world, pass, current } = setup();
    await pass();
    world.logs.set('hello-run/run/Stdout', 'hello\n');
    world.logs.set('hello-run/run/Stderr', 'warn\n');
    world.setPodStatus('tenant-a', 'hello-run', {
      phase: 'Succeeded',
      containerStatuses: [container('run', terminated(0))],
    });
    await pass();
    const status = current()?.status;
    assert.equal(status?.phase, 'Succeeded');
    assert.equal(status?.reason, 'Completed');
    assert.equal(status?.stdout, 'hello\n');
    assert.equal(status?.stderr, 'warn\n');
    assert.equal(world.pods.size, 0, 'capacity goes back at once');
    assert.equal(world.secrets.size, 0);
    assert.deepEqual(
      world.events.map((event) => event.reason),
      ['PodCreated', 'Completed'],
    );
  });

  it('should stop a running program and keep its output so far when cancelled', async () => {
    const { world, pass, current } = setup();
    await pass();
    world.setPodStatus('tenant-a', 'hello-run', {
      phase: 'Running',
      containerStatuses: [container('run', { running: { startedAt: at(2) } })],
    });
    await pass();
    assert.equal(current()?.status?.phase, 'Running');
    world.logs.set('hello-run/run/Stdout', 'partial');
    world.patchSpec('tenant-a', 'hello', { cancel: true });
    await pass();
    assert.equal(current()?.status?.reason, 'Cancelled');
    assert.equal(current()?.status?.stdout, 'partial');
    assert.equal(current()?.status?.observedGeneration, 2);
    assert.equal(world.pods.size, 0);
  });

  it('should never start a pod for an Execution cancelled before it started', async () => {
    const { world, pass, current } = setup({ cancel: true });
    await pass();
    assert.equal(world.podsCreated, 0);
    assert.equal(current()?.status?.reason, 'Cancelled');
  });

  it('should end as SystemError and not make a second pod when the pod vanished', async () => {
    const { world, pass, current } = setup();
    await pass();
    await world.deletePod('tenant-a', 'hello-run');
    await pass();
    assert.equal(current()?.status?.reason, 'SystemError');
    assert.equal(world.podsCreated, 1);
  });

  it('should not adopt the pod of an earlier Execution of the same name', async () => {
    const { world, pass, current } = setup();
    world.pods.set('tenant-a/hello-run', {
      metadata: {
        name: 'hello-run',
        namespace: 'tenant-a',
        ownerReferences: [
          { apiVersion: 'sandpod.dev/v1alpha1', kind: 'Execution', name: 'hello', uid: 'old-uid', controller: true },
        ],
      },
      status: { phase: 'Succeeded', containerStatuses: [container('run', terminated(0))] },
    });
    await assert.rejects(pass(), /earlier Execution/);
    assert.equal(current()?.status, undefined, 'the outcome of the old pod is not taken');
    await world.deletePod('tenant-a', 'hello-run');
    await pass();
    assert.equal(world.podsCreated, 1);
  });

  it('should turn a permanent refusal of the pod into SystemError with its message', async () => {
    const { world, pass, current } = setup();
    world.failNextPodCreate = new PermanentError('the API server refused the pod: RuntimeClass "gvisor" not found');
    await pass();
    assert.equal(current()?.status?.reason, 'SystemError');
    assert.match(current()?.status?.message ?? '', /RuntimeClass "gvisor" not found/);
  });

  it('should put the whole source and stdin in the Secret although the cache holds them emptied', async () => {
    const { world, pass } = setup({ source: 'print(input())\n', stdin: 'hello\n' });
    assert.equal(world.execution('tenant-a', 'hello')?.spec.source, '', 'the cache is slim');
    await pass();
    const data = world.secrets.get('tenant-a/hello-input')?.data ?? {};
    const decoded = Object.values(data).map((text) => Buffer.from(text, 'base64').toString('utf8'));
    assert.deepEqual(decoded.sort(), ['hello\n', 'print(input())\n']);
  });

  it('should refuse a payload too large for a Secret, which only the whole object shows', async () => {
    const { world, pass, current } = setup({ source: 'é'.repeat(200_000), stdin: 'x'.repeat(700_000) });
    await pass();
    assert.equal(world.podsCreated, 0);
    assert.equal(current()?.status?.reason, 'SystemError');
    assert.match(current()?.status?.message ?? '', /a pod can receive at most 1048576/);
  });

  it('should delete the Secret of an Execution whose pod was refused, though status names no pod', async () => {
    const { world, pass, current } = setup();
    world.failNextPodCreate = new PermanentError('the API server refused the pod: RuntimeClass "gvisor" not found');
    await pass();
    assert.equal(current()?.status?.podName, undefined, 'status names no pod');
    assert.equal(world.secrets.size, 0);
  });

  it('should fail with SystemError and mount nothing when a Secret of the input name was planted', async () => {
    const { world, pass, current } = setup();
    const planted = {
      metadata: { name: 'hello-input', namespace: 'tenant-a', uid: 'planted', labels: {} },
      data: { 'file-0': Buffer.from('print("not yours")').toString('base64') },
    };
    world.secrets.set('tenant-a/hello-input', structuredClone(planted));
    await pass();
    assert.equal(world.podsCreated, 0, 'no pod mounts the planted Secret');
    assert.equal(current()?.status?.reason, 'SystemError');
    assert.match(
      current()?.status?.message ?? '',
      /Secret hello-input already exists and is not owned by this Execution/,
    );
    assert.deepEqual(world.secrets.get('tenant-a/hello-input')?.data, planted.data, 'the planted Secret is left alone');
  });

  it('should use the Secret an earlier pass made when it is owned by the Execution', async () => {
    const { world, pass } = setup();
    world.failNextPodCreate = new Error('503 the server is busy');
    await assert.rejects(pass(), /503/);
    // A restarted operator: no memory of the Secret it made, and the pod was never created.
    const fresh = new Reconciler(world, world, policy(), silent, () => at(1));
    await fresh.reconcile(KEY);
    assert.equal(world.secretsMade, 1);
    assert.ok(world.pods.has('tenant-a/hello-run'));
  });

  it('should never delete a Secret of the input name that the Execution does not own', async () => {
    const { world, pass, current } = setup();
    await pass();
    world.setPodStatus('tenant-a', 'hello-run', {
      phase: 'Succeeded',
      containerStatuses: [container('run', terminated(0))],
    });
    // Replaced behind the operator's back by one it does not own, then the operator restarts.
    world.secrets.set('tenant-a/hello-input', {
      metadata: { name: 'hello-input', namespace: 'tenant-a', uid: 'other' },
    });
    const fresh = new Reconciler(world, world, policy(), silent, () => at(2));
    await fresh.reconcile(KEY);
    await fresh.reconcile(KEY);
    assert.equal(current()?.status?.phase, 'Succeeded');
    assert.ok(world.secrets.has('tenant-a/hello-input'), 'the foreign Secret is still there');
  });

  it('should throw a transient failure so the queue retries it', async () => {
    const { world, pass, current } = setup();
    world.failNextPodCreate = new Error('503 the server is busy');
    await assert.rejects(pass(), /503/);
    assert.equal(current()?.status, undefined);
    await pass();
    assert.equal(world.podsCreated, 1);
  });

  it('should delete a finished Execution once its TTL passed, and ask to come back before that', async () => {
    const { world, pass, setNow } = setup({ ttlSecondsAfterFinished: 60 });
    await pass();
    world.setPodStatus('tenant-a', 'hello-run', {
      phase: 'Failed',
      containerStatuses: [container('run', terminated(1))],
    });
    setNow(at(10));
    const finished = await pass();
    assert.equal(finished.requeueAfterMs, 53_000, 'finished at 3 s, kept 60 s, now 10 s');
    setNow(at(63));
    await pass();
    assert.equal(world.executionObjects.size, 0);
  });

  it('should wait for a missing Runtime and come back when its grace ends', async () => {
    const { world, pass, current, setNow } = setup({ runtime: 'ruby' });
    const first = await pass();
    assert.equal(current()?.status?.phase, 'Pending');
    assert.equal(first.requeueAfterMs, 30_000);
    setNow(new Date(T0.getTime() + 31_000));
    await pass();
    assert.equal(current()?.status?.reason, 'SystemError');
    assert.equal(world.podsCreated, 0);
  });
});

describe('Reconciler with a namespace cap', () => {
  it('should keep the second Execution queued until the first finishes', async () => {
    const world = new World();
    world.runtimeObjects.push(runtime());
    const first = execution();
    const second = execution({}, {});
    second.metadata = { ...second.metadata, name: 'second', uid: 'uid-second', creationTimestamp: at(1) };
    world.addExecution(first);
    world.addExecution(second);
    const reconciler = new Reconciler(world, world, policy({ capacity: { maxRunningPerNamespace: 1 } }), silent, () =>
      at(2),
    );
    await reconciler.reconcile('tenant-a/second');
    await reconciler.reconcile('tenant-a/hello');
    await reconciler.reconcile('tenant-a/second');
    assert.deepEqual([...world.pods.keys()], ['tenant-a/hello-run']);
    const queued = world.stored('tenant-a', 'second');
    assert.equal(queued?.status?.phase, 'Pending');
    assert.equal(queued?.status?.conditions?.find((c) => c.type === 'Running')?.reason, 'Queued');

    world.setPodStatus('tenant-a', 'hello-run', {
      phase: 'Succeeded',
      containerStatuses: [container('run', terminated(0))],
    });
    await reconciler.reconcile('tenant-a/hello');
    await reconciler.reconcile('tenant-a/second');
    assert.deepEqual([...world.pods.keys()], ['tenant-a/second-run']);
  });
});

describe('recheck', () => {
  it('should come back after the pod deadline and its grace when a pod is running', () => {
    const running = {
      metadata: { name: 'hello-run', creationTimestamp: at(0) },
      spec: { containers: [], activeDeadlineSeconds: 13 },
      status: { phase: 'Running', startTime: at(1) },
    };
    const result = recheck(execution(), { runtimeFound: true, pod: running }, at(5), policy());
    assert.equal(result.requeueAfterMs, (1 + 13 + 30 - 5 + 1) * 1000);
  });
});

describe('Reconciler with a stale cache', () => {
  it('should wait for the cache to see its own status write instead of acting on the old copy', async () => {
    const world = new World();
    world.runtimeObjects.push(runtime());
    world.addExecution(execution());
    const before = structuredClone(world.execution('tenant-a', 'hello'));
    let stale = false;
    const cache = {
      execution: (namespace: string, name: string) => (stale ? before : world.execution(namespace, name)),
      executions: (namespace: string) => world.executions(namespace),
      pod: (namespace: string, name: string) => world.pod(namespace, name),
      runtimes: () => world.runtimes(),
      pools: (namespace: string) => world.pools(namespace),
      poolPods: (namespace: string, name: string) => world.poolPods(namespace, name),
      claimedPod: (namespace: string, owner: Parameters<World['claimedPod']>[1]) => world.claimedPod(namespace, owner),
    };
    const reconciler = new Reconciler(world, cache, policy(), silent, () => at(1));
    await reconciler.reconcile(KEY);
    const written = world.execution('tenant-a', 'hello')?.metadata.resourceVersion;
    stale = true;
    assert.deepEqual(await reconciler.reconcile(KEY), { requeueAfterMs: 200 });
    assert.equal(world.execution('tenant-a', 'hello')?.metadata.resourceVersion, written, 'nothing written');
    stale = false;
    await reconciler.reconcile(KEY);
    assert.equal(world.podsCreated, 1);
  });
});
