import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import winston from 'winston';
import { LABELS, type WarmPool } from '../../contract/objects.js';
import { ephemeralStorageMiB, PATHS, wallDeadlineSeconds } from '../../operator/pod.js';
import { PoolReconciler } from '../../operator/pool-reconciler.js';
import { Reconciler } from '../../operator/reconciler.js';
import {
  bundleFor,
  claimPatch,
  desiredPoolPod,
  fitsPool,
  POOL_MEMORY_HEADROOM_MIB,
  planPool,
  poolSize,
} from '../../operator/warm-pool.js';
import { encodeBundle } from '../../sandbox/launcher/bundle.js';
import { at, cRuntime, execution, policy, runtime } from './fixtures.js';
import { World } from './world.js';

const silent = winston.createLogger({ silent: true });
const NS = 'tenant-a';

function warmPool(spec: Partial<WarmPool['spec']> = {}, name = 'python-pool'): WarmPool {
  return {
    apiVersion: 'sandpod.dev/v1alpha1',
    kind: 'WarmPool',
    metadata: { name, namespace: NS, uid: `uid-${name}`, generation: 1 },
    spec: { runtime: 'python', replicas: 2, ...spec },
  };
}

/** What the kubelet reports of a pool pod whose launcher waits. */
const readyStatus = (): V1Pod['status'] => ({
  phase: 'Running',
  startTime: at(0),
  conditions: [{ type: 'Ready', status: 'True' }],
  containerStatuses: [
    { name: 'run', image: '', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: at(0) } } },
  ],
});

/** What the kubelet reports of a pool pod whose launcher ended at 11 s with this report. */
const ended = (message: string, exitCode = 0, reason?: string): V1Pod['status'] => ({
  phase: exitCode === 0 ? 'Succeeded' : 'Failed',
  startTime: at(0),
  containerStatuses: [
    {
      name: 'run',
      image: '',
      imageID: '',
      ready: false,
      restartCount: 0,
      state: { terminated: { exitCode, ...(reason ? { reason } : {}), startedAt: at(0), finishedAt: at(11), message } },
    },
  ],
});

function poolWorld(pool = warmPool()) {
  const world = new World();
  world.runtimeObjects.push(runtime(), cRuntime());
  world.poolObjects.set(`${NS}/${pool.metadata.name}`, pool);
  const pools = new PoolReconciler(world, world, policy(), silent, () => 0);
  return { world, pools, pool, poolPass: () => pools.reconcile(`${NS}/${pool.metadata.name}`) };
}

function readyAll(world: World) {
  for (const pod of world.pods.values()) {
    if (pod.metadata?.labels?.[LABELS.claimed] === undefined) {
      pod.status = readyStatus();
      world.touchPod(NS, pod.metadata?.name ?? '');
    }
  }
}

describe('warm pool pods', () => {
  it('should be the hardened pod of a cold execution with one launcher waiting on stdin when made for a pool', () => {
    const pod = desiredPoolPod(warmPool(), runtime(), poolSize(warmPool(), runtime(), policy()), policy().pod);
    const spec = pod.spec;
    assert.equal(spec?.automountServiceAccountToken, false);
    assert.equal(spec?.runtimeClassName, 'gvisor');
    assert.equal(spec?.securityContext?.runAsNonRoot, true);
    assert.equal(spec?.activeDeadlineSeconds, undefined, 'set when claimed');
    const [run] = spec?.containers ?? [];
    assert.equal(run?.securityContext?.readOnlyRootFilesystem, true);
    assert.deepEqual(run?.securityContext?.capabilities?.drop, ['ALL']);
    assert.equal(run?.stdin, true);
    assert.equal(run?.stdinOnce, false);
    assert.deepEqual(run?.command?.slice(1, 3), ['--bundle', '1']);
    assert.equal(run?.command?.at(-1), '--');
    assert.ok(
      spec?.volumes?.every((volume) => volume.emptyDir?.medium === 'Memory'),
      'no Secret: no program yet',
    );
    assert.equal(pod.metadata?.ownerReferences?.[0]?.kind, 'WarmPool');
  });

  it('should size a compiled runtime pool for the compiler and serve only runs within its limits', () => {
    const pool = warmPool({ runtime: 'c', limits: { memoryMiB: 128 } });
    const size = poolSize(pool, cRuntime(), policy());
    const pod = desiredPoolPod(pool, cRuntime(), size, policy().pod);
    const memory = pod.spec?.containers[0]?.resources?.limits?.memory;
    assert.equal(memory, `${(size.compileLimits?.memoryMiB ?? 0) + POOL_MEMORY_HEADROOM_MIB}Mi`);
    const plan = { limits: { ...size.limits }, files: [], runArgv: ['x'], interactive: false };
    assert.equal(fitsPool(plan, size), true);
    assert.equal(fitsPool({ ...plan, limits: { ...size.limits, memoryMiB: 256 } }, size), false);
    assert.equal(fitsPool({ ...plan, interactive: true }, size), true);
    assert.equal(fitsPool({ ...plan, tests: [{ stdin: '', args: [] }] }, size), true);
    assert.equal(fitsPool({ ...plan, limits: { ...size.limits, diskMiB: size.limits.diskMiB - 1 } }, size), false);
  });

  it("should serve judged tests warm only when every test's output fits the pool pod's log", () => {
    const pool = warmPool({ limits: { outputBytes: 3 * 1024 * 1024 } });
    const size = poolSize(pool, runtime(), policy());
    const tests = [{ stdin: '1\n' }, { stdin: '2\n' }, { stdin: '3\n', args: ['x'] }];
    const plan = {
      limits: { ...size.limits, outputBytes: 1024 * 1024 },
      files: [],
      runArgv: ['x'],
      interactive: false,
    };
    assert.equal(fitsPool({ ...plan, tests }, size), true, 'three tests of 1 MiB in a log of 3 MiB');
    assert.equal(fitsPool({ ...plan, tests: [...tests, { stdin: '4\n' }] }, size), false, 'a fourth does not fit');
    // The same comparison as the cold pod's ephemeral storage for N tests, with the same factor.
    const pod = desiredPoolPod(pool, runtime(), size, policy().pod);
    const coldMiB = ephemeralStorageMiB(plan.limits, policy().pod, tests.length);
    assert.equal(pod.spec?.containers[0]?.resources?.limits?.['ephemeral-storage'], `${coldMiB}Mi`);
    assert.ok(
      ephemeralStorageMiB(plan.limits, policy().pod, tests.length + 1) > coldMiB,
      'a plan that does not fit would need more',
    );
  });

  it("should set a claimed pod's deadline for every test of a judged plan", () => {
    const size = poolSize(warmPool(), runtime(), policy());
    const plan = { limits: { ...size.limits, wallTimeMs: 2000 }, files: [], runArgv: ['x'], interactive: false };
    const tests = Array.from({ length: 5 }, () => ({ stdin: '' }));
    const pod = { metadata: { resourceVersion: '1' }, status: { startTime: at(0) } } as V1Pod;
    const one = claimPatch(pod, execution(), plan, policy().pod, at(10), 'n0nce').spec.activeDeadlineSeconds;
    const five = claimPatch(pod, execution(), { ...plan, tests }, policy().pod, at(10), 'n0nce').spec
      .activeDeadlineSeconds;
    assert.equal(five - one, 4 * 2, 'two seconds more per test');
    assert.equal(five, 10 + wallDeadlineSeconds({ ...plan, tests }, policy().pod), 'as a cold pod, plus the wait');
  });

  it('should empty the work and tmp directories between tests, not the build directory', () => {
    const pool = warmPool({ runtime: 'c' });
    const command = desiredPoolPod(pool, cRuntime(), poolSize(pool, cRuntime(), policy()), policy().pod).spec
      ?.containers[0]?.command;
    const scratch = (command ?? []).flatMap((arg, index) => (arg === '--scratch' ? [command?.[index + 1]] : []));
    assert.deepEqual(scratch, [PATHS.work, PATHS.tmp]);
  });

  it("should put the plan's tests in the bundle, each under its index, with stop-on-failure", () => {
    const size = poolSize(warmPool(), runtime(), policy());
    const tests = [{ stdin: '1\n' }, { args: ['a', 'b'] }];
    const plan = { limits: size.limits, files: [], runArgv: ['x'], interactive: false, tests };
    const bundle = bundleFor({ ...plan, stopOnFirstFailure: true }, policy().pod);
    assert.deepEqual(bundle.tests, tests);
    assert.equal(bundle.stopOnFailure, true);
    assert.equal(bundleFor(plan, policy().pod).stopOnFailure, false);
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    const encoded = encodeBundle(bundle).toString();
    assert.ok(encoded.includes(`\x1eK ${b64('2')} ${b64('1')}\n`));
    assert.ok(encoded.includes(`\x1eT ${b64('0')} ${b64('1\n')}\n`));
    assert.ok(encoded.includes(`\x1eT ${b64('1')}  ${b64('a')} ${b64('b')}\n`), 'an empty stdin, then the args');
    assert.ok(encoded.endsWith('\x1eG\n'));
    assert.equal(bundleFor({ ...plan, tests: undefined }, policy().pod).tests, undefined);
  });

  it('should count pods being created so that a stale cache never makes more than replicas', () => {
    assert.equal(planPool([], 't', 4, 0).create, 4);
    assert.equal(planPool([], 't', 4, 4).create, 0);
  });
});

describe('PoolReconciler', () => {
  it('should keep replicas pods and write how many are ready', async () => {
    const { world, poolPass, pool } = poolWorld();
    await poolPass();
    await poolPass();
    assert.equal(world.pods.size, 2);
    readyAll(world);
    await poolPass();
    assert.deepEqual(pool.status, {
      replicas: 2,
      readyReplicas: 2,
      selector: `${LABELS.pool}=python-pool,!${LABELS.claimed}`,
      observedGeneration: 1,
    });
  });

  it('should replace an ended pod and scale down to fewer replicas', async () => {
    const { world, poolPass, pool } = poolWorld();
    await poolPass();
    readyAll(world);
    const [first] = world.pods.values();
    if (first) first.status = { phase: 'Failed' };
    await poolPass();
    assert.equal(world.pods.size, 2);
    assert.ok(![...world.pods.values()].includes(first as V1Pod), 'the ended pod is deleted');
    pool.spec.replicas = 0;
    await poolPass();
    assert.equal(world.pods.size, 0);
  });

  it('should replace its pods when the pool changes what they are', async () => {
    const { world, poolPass, pool } = poolWorld();
    await poolPass();
    const before = new Set(world.pods.keys());
    pool.spec.limits = { memoryMiB: 512 };
    await poolPass();
    await poolPass();
    assert.equal(world.pods.size, 2);
    assert.ok([...world.pods.keys()].every((name) => !before.has(name)));
  });
});

describe('Reconciler with a warm pool', () => {
  async function setup() {
    const context = poolWorld();
    await context.poolPass();
    readyAll(context.world);
    const reconciler = new Reconciler(context.world, context.world, policy(), silent, () => at(10));
    return { ...context, reconciler };
  }

  it('should claim one ready pod, hand its launcher the program and name it in status when a pool fits', async () => {
    const { world, reconciler } = await setup();
    world.addExecution(execution());
    await reconciler.reconcile(`${NS}/hello`);
    const status = world.stored(NS, 'hello')?.status;
    assert.equal(status?.warm, true);
    const pod = world.pods.get(`${NS}/${status?.podName}`);
    assert.equal(pod?.metadata?.labels?.[LABELS.claimed], 'true');
    assert.equal(pod?.metadata?.ownerReferences?.[0]?.kind, 'Execution');
    assert.ok((pod?.spec?.activeDeadlineSeconds ?? 0) >= 10, 'the deadline counts the time the pod waited');
    assert.equal(world.podsCreated, 0, 'no cold pod');
    assert.equal(world.secrets.size, 0, 'no Secret: the program went through the attach');
    const bundle = world.bundles.get(status?.podName ?? '')?.[0]?.toString() ?? '';
    assert.ok(bundle.includes('\x1eF '), 'a file record');
    assert.ok(bundle.endsWith('\x1eG\n'), 'closed by G');
  });

  it('should serve each of many Executions from its own pod, or cold once the ready pods are taken', async () => {
    const { world, reconciler } = await setup();
    for (const name of ['a', 'b', 'c', 'd']) {
      world.addExecution(execution({}, { metadata: { ...execution().metadata, name, uid: `uid-${name}` } }));
    }
    await Promise.all(['a', 'b', 'c', 'd'].map((name) => reconciler.reconcile(`${NS}/${name}`)));
    const statuses = ['a', 'b', 'c', 'd'].map((name) => world.stored(NS, name)?.status);
    const warm = statuses.filter((status) => status?.warm);
    assert.equal(warm.length, 2);
    assert.equal(new Set(warm.map((status) => status?.podName)).size, 2, 'no pod twice');
    assert.equal(world.podsCreated, 2, 'the others cold');
  });

  it('should lose the claim to a pod that changed since the cache saw it and take the next', async () => {
    const { world } = await setup();
    const stale = [...world.pods.values()].map((pod) => structuredClone(pod));
    // Another claimer's write moved the first pod on; this cache still shows the old version.
    const cache = Object.assign(Object.create(world) as World, {
      poolPods: () => stale,
    });
    world.touchPod(NS, stale[0]?.metadata?.name ?? '');
    world.touchPod(NS, stale[1]?.metadata?.name ?? '');
    world.addExecution(execution());
    await new Reconciler(world, cache, policy(), silent, () => at(10)).reconcile(`${NS}/hello`);
    assert.equal(world.claimConflicts, 2);
    assert.equal(world.stored(NS, 'hello')?.status?.warm, undefined);
    assert.equal(world.podsCreated, 1, 'cold instead');
  });

  it('should find its claimed pod after a restart between the claim and the status write, never claiming another', async () => {
    const { world } = await setup();
    world.addExecution(execution());
    // The process stops right after its claim: its status write never happens.
    const stopping = Object.assign(Object.create(world) as World, {
      replaceStatus: async () => {
        throw new Error('the operator stopped here');
      },
    });
    await assert.rejects(
      new Reconciler(stopping, world, policy(), silent, () => at(10)).reconcile(`${NS}/hello`),
      /stopped here/,
    );
    assert.equal(world.stored(NS, 'hello')?.status?.podName, undefined, 'status not written');
    const restarted = new Reconciler(world, world, policy(), silent, () => at(11));
    await restarted.reconcile(`${NS}/hello`);
    const claimed = [...world.pods.values()].filter((pod) => pod.metadata?.labels?.[LABELS.claimed]);
    assert.equal(claimed.length, 1);
    assert.equal(world.stored(NS, 'hello')?.status?.podName, claimed[0]?.metadata?.name);
    assert.equal(world.bundles.get(claimed[0]?.metadata?.name ?? '')?.length, 1, 'delivered once, by the new process');
    assert.equal(world.podsCreated, 0);
  });

  it('should send the program again when its launcher did not answer, to the same pod', async () => {
    const { world, reconciler } = await setup();
    world.addExecution(execution());
    world.launchersAnswer = false;
    await assert.rejects(reconciler.reconcile(`${NS}/hello`), /did not take its program/);
    const podName = world.stored(NS, 'hello')?.status?.podName ?? '';
    assert.ok(podName, 'status names the pod before the program goes');
    world.launchersAnswer = true;
    await new Reconciler(world, world, policy(), silent, () => at(11)).reconcile(`${NS}/hello`);
    assert.equal(world.stored(NS, 'hello')?.status?.podName, podName);
    assert.equal(world.bundles.get(podName)?.length, 2, 'the bundle sent again');
    assert.equal([...world.pods.values()].filter((pod) => pod.metadata?.labels?.[LABELS.claimed]).length, 1);
  });

  it('should hand an interactive program to its launcher, with a live stdin, before status names the pod', async () => {
    const { world, reconciler } = await setup();
    world.addExecution(execution({ interactive: true }));
    world.launchersAnswer = false;
    await assert.rejects(reconciler.reconcile(`${NS}/hello`), /did not take its program/);
    assert.equal(world.stored(NS, 'hello')?.status?.podName, undefined, 'no pod named while the launcher lacks it');
    world.launchersAnswer = true;
    await new Reconciler(world, world, policy(), silent, () => at(11)).reconcile(`${NS}/hello`);
    const status = world.stored(NS, 'hello')?.status;
    assert.equal(status?.warm, true);
    const bundles = world.bundles.get(status?.podName ?? '') ?? [];
    assert.equal(bundles.length, 2, 'sent again to the pod claimed before');
    assert.ok(bundles[1]?.toString().includes('\x1eL '), 'the live stdin record');
    assert.equal([...world.pods.values()].filter((pod) => pod.metadata?.labels?.[LABELS.claimed]).length, 1);
  });

  it('should not send the program again after a restart when the log says the launcher has it', async () => {
    const { world, reconciler } = await setup();
    world.addExecution(execution());
    await reconciler.reconcile(`${NS}/hello`);
    const podName = world.stored(NS, 'hello')?.status?.podName ?? '';
    world.logs.set(`${podName}/run/Stdout`, '\x1eSP c a 0\n\n\x1eSP c s 0\n\nsleeping\n');
    world.touchPod(NS, podName);
    await new Reconciler(world, world, policy(), silent, () => at(11)).reconcile(`${NS}/hello`);
    assert.equal(world.bundles.get(podName)?.length, 1);
  });

  it('should go cold when its limits are above the pool', async () => {
    const { world, reconciler } = await setup();
    world.addExecution(execution({ limits: { memoryMiB: 1024 } }));
    await reconciler.reconcile(`${NS}/hello`);
    assert.equal(world.stored(NS, 'hello')?.status?.warm, undefined);
    assert.equal(world.podsCreated, 1);
  });

  it("should end with the run's output after the launcher's frames and its exit", async () => {
    const { world, reconciler } = await setup();
    world.addExecution(execution());
    await reconciler.reconcile(`${NS}/hello`);
    const podName = world.stored(NS, 'hello')?.status?.podName ?? '';
    const report = {
      sandpodLaunch: 1,
      startedAt: at(10).toISOString(),
      finishedAt: at(11).toISOString(),
      durationMs: 120,
      cpuMs: 30,
      memoryPeakKiB: 2048,
      outputBytes: 3,
      limit: null,
      exitCode: 0,
      signal: null,
      error: null,
    };
    world.logs.set(`${podName}/run/Stdout`, '\x1eSP c a 0\n\n\x1eSP c s 0\n\nhi\n');
    world.setPodStatus(NS, podName, ended(JSON.stringify(report)));
    await reconciler.reconcile(`${NS}/hello`);
    const status = world.stored(NS, 'hello')?.status;
    assert.equal(status?.phase, 'Succeeded');
    assert.equal(status?.stdout, 'hi\n');
    assert.equal(status?.durationMs, 120);
    assert.equal(status?.warm, true);
    assert.equal(status?.startedAt, '2026-01-01T10:00:10Z', 'started when claimed, not when the pool made it');
    assert.equal(world.pods.has(`${NS}/${podName}`), false, 'the pod is deleted after its one program');
  });

  it('should end as CompileError with the compiler output from the frames when the compile step failed', async () => {
    const context = poolWorld(warmPool({ runtime: 'c' }, 'c-pool'));
    await context.poolPass();
    readyAll(context.world);
    const { world } = context;
    const reconciler = new Reconciler(world, world, policy(), silent, () => at(10));
    world.addExecution(execution({ runtime: 'c', source: 'int main(void) { return x; }\n' }));
    await reconciler.reconcile(`${NS}/hello`);
    const podName = world.stored(NS, 'hello')?.status?.podName ?? '';
    assert.ok(world.bundles.get(podName)?.[0]?.toString().includes('\x1eC '), 'a compile record');
    const report = {
      sandpodLaunch: 1,
      startedAt: at(10).toISOString(),
      finishedAt: at(11).toISOString(),
      durationMs: 300,
      cpuMs: 200,
      outputBytes: 20,
      limit: null,
      exitCode: 1,
      signal: null,
      error: null,
    };
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    const error = b64("main.c:1: error: 'x' undeclared\n");
    const reportText = b64(JSON.stringify(report));
    world.logs.set(
      `${podName}/run/Stdout`,
      `\x1eSP c a 0\n\n\x1eSP c e ${error.length}\n${error}\n\x1eSP c r ${reportText.length}\n${reportText}\n`,
    );
    world.setPodStatus(NS, podName, ended(JSON.stringify(report), 1));
    await reconciler.reconcile(`${NS}/hello`);
    const status = world.stored(NS, 'hello')?.status;
    assert.equal(status?.reason, 'CompileError');
    assert.match(status?.compile?.output ?? '', /undeclared/);
    assert.equal(status?.compile?.durationMs, 300);
  });

  it('should end as CompileError when the OOM killer ended the pod while it compiled, before any compile report', async () => {
    const context = poolWorld(warmPool({ runtime: 'c' }, 'c-pool'));
    await context.poolPass();
    readyAll(context.world);
    const { world } = context;
    const reconciler = new Reconciler(world, world, policy(), silent, () => at(10));
    world.addExecution(execution({ runtime: 'c', source: '#include </dev/random>\n' }));
    await reconciler.reconcile(`${NS}/hello`);
    const podName = world.stored(NS, 'hello')?.status?.podName ?? '';
    // The launcher took the program and started the compiler; nothing more reached the log.
    world.logs.set(`${podName}/run/Stdout`, '\x1eSP c a 0\n\n');
    world.setPodStatus(NS, podName, ended('', 137, 'OOMKilled'));
    await reconciler.reconcile(`${NS}/hello`);
    const status = world.stored(NS, 'hello')?.status;
    assert.equal(status?.reason, 'CompileError', JSON.stringify(status));
    assert.match(status?.message ?? '', /memory/);
    assert.equal(status?.compile?.exitCode, 137, 'the compile step ended with the container');
  });

  it('should leave a claimed pod alone in the pool count and make a replacement', async () => {
    const { world, reconciler, poolPass, pool } = await setup();
    world.addExecution(execution());
    await reconciler.reconcile(`${NS}/hello`);
    await poolPass();
    assert.equal(world.pods.size, 3, 'two pool pods and the claimed one');
    assert.equal(pool.status?.replicas, 2);
    const patch = claimPatch(
      [...world.pods.values()][0] as V1Pod,
      execution(),
      {
        limits: poolSize(pool, runtime(), policy()).limits,
        files: [],
        runArgv: ['x'],
        interactive: false,
      },
      policy().pod,
      at(10),
      'n0nce',
    );
    assert.ok(patch.metadata.resourceVersion, 'a claim is conditional on the version seen');
  });
});

describe('Reconciler with a held attach', () => {
  it("should end the Execution from the launcher's last report over the attach, before the kubelet says so", async () => {
    const context = poolWorld();
    await context.poolPass();
    readyAll(context.world);
    const { world } = context;
    const requeued: string[] = [];
    const reconciler = new Reconciler(world, world, policy(), silent, () => at(10), {
      requeue: (key) => requeued.push(key),
    });
    world.addExecution(execution());
    await reconciler.reconcile(`${NS}/hello`);
    const podName = world.stored(NS, 'hello')?.status?.podName ?? '';
    const nonce = world.pods.get(`${NS}/${podName}`)?.metadata?.annotations?.['sandpod.dev/end-nonce'] ?? '';
    assert.match(nonce, /^[0-9a-f]{36}$/);
    assert.ok(
      world.bundles
        .get(podName)?.[0]
        ?.toString()
        .includes(`\x1eN ${Buffer.from(nonce).toString('base64')}`),
    );
    const report = {
      sandpodLaunch: 1,
      startedAt: at(10).toISOString(),
      finishedAt: at(11).toISOString(),
      durationMs: 80,
      cpuMs: 20,
      // set below: what the run wrote, counted as the launcher counts it
      outputBytes: 0,
      limit: null,
      exitCode: 0,
      signal: null,
      error: null,
    };
    // A frame the program printed with a guessed label stays its output.
    const forgedPayload = Buffer.from('{"sandpodLaunch":1}').toString('base64');
    const forged = `\x1eSP guess r ${forgedPayload.length}\n${forgedPayload}\n`;
    report.outputBytes = 'hi\n'.length + forged.length + 'note\n'.length;
    const framed = Buffer.from(JSON.stringify(report)).toString('base64');
    world.follows.get(podName)?.onEnd({
      stdout: Buffer.from(
        `\x1eSP c a 0\n\n\x1eSP c s 0\n\nhi\n${forged}\x1eSP ${nonce} r ${framed.length}\n${framed}\n`,
        'latin1',
      ),
      stderr: Buffer.from('note\n'),
    });
    assert.deepEqual(requeued, [`${NS}/hello`]);
    // The pod still runs as far as the kubelet has said.
    assert.equal(world.pods.get(`${NS}/${podName}`)?.status?.phase, 'Running');
    await reconciler.reconcile(`${NS}/hello`);
    const status = world.stored(NS, 'hello')?.status;
    assert.equal(status?.phase, 'Succeeded');
    assert.equal(status?.stdout, `hi\n${forged}`);
    assert.equal(status?.stderr, 'note\n');
    assert.equal(status?.durationMs, 80);
    assert.equal(world.pods.has(`${NS}/${podName}`), false, 'deleted at once');
  });

  it('should wait for the kubelet and the log when the attach lost bytes the report counts', async () => {
    const context = poolWorld();
    await context.poolPass();
    readyAll(context.world);
    const { world } = context;
    const reconciler = new Reconciler(world, world, policy(), silent, () => at(10), { requeue: () => undefined });
    world.addExecution(execution());
    await reconciler.reconcile(`${NS}/hello`);
    const podName = world.stored(NS, 'hello')?.status?.podName ?? '';
    const nonce = world.pods.get(`${NS}/${podName}`)?.metadata?.annotations?.['sandpod.dev/end-nonce'] ?? '';
    const report = {
      sandpodLaunch: 1,
      startedAt: at(10).toISOString(),
      finishedAt: at(11).toISOString(),
      durationMs: 80,
      cpuMs: 20,
      outputBytes: 20_000,
      limit: 'output',
      exitCode: null,
      signal: null,
      error: null,
    };
    const framed = Buffer.from(JSON.stringify(report)).toString('base64');
    world.follows.get(podName)?.onEnd({
      stdout: Buffer.from(
        `\x1eSP c a 0\n\n\x1eSP c s 0\n\n${'o'.repeat(4000)}\x1eSP ${nonce} r ${framed.length}\n${framed}\n`,
        'latin1',
      ),
      stderr: Buffer.from('e'.repeat(5000)),
    });
    await reconciler.reconcile(`${NS}/hello`);
    assert.equal(world.stored(NS, 'hello')?.status?.phase, 'Running', 'not judged from 9000 of 20000 bytes');
    assert.ok(world.pods.has(`${NS}/${podName}`));
  });
});

describe('Reconciler with a judged Execution on a warm pod', () => {
  const spec = {
    tests: [
      { name: 'one', stdin: '1\n', expectedOutput: '2\n' },
      { stdin: '2\n', expectedOutput: '4\n', args: ['x'] },
      { stdin: '3\n', expectedOutput: '6\n' },
    ],
  };
  const testReport = (index: number, outputBytes: number) => ({
    sandpodLaunch: 1,
    startedAt: new Date(at(10).getTime() + index * 100).toISOString(),
    finishedAt: new Date(at(10).getTime() + index * 100 + 40).toISOString(),
    durationMs: 40,
    cpuMs: 10,
    memoryPeakKiB: 2048 + index,
    outputBytes,
    limit: null,
    exitCode: 0,
    signal: null,
    error: null,
  });
  const frame = (label: string | number, kind: 'o' | 'e' | 'r', text: string) => {
    const payload = Buffer.from(text).toString('base64');
    return `\x1eSP ${label} ${kind} ${payload.length}\n${payload}\n`;
  };
  // The second test answers wrong; the launcher never knows, and runs the third.
  const outputs = ['2\n', '5\n', '6\n'];
  const testsLog = outputs
    .map((out, index) => frame(index, 'o', out) + frame(index, 'r', JSON.stringify(testReport(index, out.length))))
    .join('');
  const sum = {
    ...testReport(0, 6),
    finishedAt: at(11).toISOString(),
    durationMs: 120,
    cpuMs: 30,
    memoryPeakKiB: 2050,
  };

  async function coldStatus() {
    const world = new World();
    world.runtimeObjects.push(runtime());
    const reconciler = new Reconciler(world, world, policy(), silent, () => at(10));
    world.addExecution(execution(spec));
    await reconciler.reconcile(`${NS}/hello`);
    const podName = [...world.pods.values()][0]?.metadata?.name ?? '';
    world.logs.set(`${podName}/run/Stdout`, testsLog);
    world.setPodStatus(NS, podName, ended(JSON.stringify(sum)));
    await reconciler.reconcile(`${NS}/hello`);
    return world.stored(NS, 'hello')?.status;
  }

  async function warmWorld() {
    const context = poolWorld(warmPool({ limits: { outputBytes: 4 * 1024 * 1024 } }));
    await context.poolPass();
    readyAll(context.world);
    const { world } = context;
    const reconciler = new Reconciler(world, world, policy(), silent, () => at(10), { requeue: () => undefined });
    world.addExecution(execution(spec));
    await reconciler.reconcile(`${NS}/hello`);
    const podName = world.stored(NS, 'hello')?.status?.podName ?? '';
    const nonce = world.pods.get(`${NS}/${podName}`)?.metadata?.annotations?.['sandpod.dev/end-nonce'] ?? '';
    const log = `\x1eSP c a 0\n\n\x1eSP c s 0\n\n${testsLog}${frame(nonce, 'r', JSON.stringify(sum))}`;
    return { world, reconciler, podName, log };
  }

  /** What a warm and a cold run of the same tests must agree on. */
  const judged = (status: Awaited<ReturnType<typeof coldStatus>>) => ({
    phase: status?.phase,
    reason: status?.reason,
    testsPassed: status?.testsPassed,
    tests: status?.tests,
    durationMs: status?.durationMs,
    usage: status?.usage,
    exitCode: status?.exitCode,
  });

  it('should send the tests in the bundle and end with the verdicts a cold pod gives, from the log', async () => {
    const cold = await coldStatus();
    assert.equal(cold?.reason, 'WrongAnswer');
    const { world, reconciler, podName, log } = await warmWorld();
    assert.equal(world.stored(NS, 'hello')?.status?.warm, true);
    assert.equal(world.podsCreated, 0, 'no cold pod');
    const bundle = world.bundles.get(podName)?.[0]?.toString() ?? '';
    assert.equal(bundle.split('\x1eT ').length - 1, 3, 'one record per test');
    world.logs.set(`${podName}/run/Stdout`, log);
    world.setPodStatus(NS, podName, ended(JSON.stringify(sum)));
    await reconciler.reconcile(`${NS}/hello`);
    const warm = world.stored(NS, 'hello')?.status;
    assert.equal(warm?.warm, true);
    assert.deepEqual(judged(warm), judged(cold));
    assert.deepEqual(
      warm?.tests?.map((test) => test.reason),
      ['Accepted', 'WrongAnswer', 'Accepted'],
    );
  });

  it('should go cold rather than run tests on a pool pod made from an older template', async () => {
    const context = poolWorld(warmPool({ limits: { outputBytes: 4 * 1024 * 1024 } }));
    await context.poolPass();
    readyAll(context.world);
    const { world } = context;
    for (const pod of world.pods.values()) {
      if (pod.metadata?.annotations) pod.metadata.annotations['sandpod.dev/pool-template'] = 'older';
    }
    const reconciler = new Reconciler(world, world, policy(), silent, () => at(10), { requeue: () => undefined });
    world.addExecution(execution(spec));
    await reconciler.reconcile(`${NS}/hello`);
    assert.equal(world.stored(NS, 'hello')?.status?.warm, undefined);
    assert.equal(world.podsCreated, 1, 'a cold pod');
    world.addExecution(execution({}, { metadata: { ...execution().metadata, name: 'plain', uid: 'uid-plain' } }));
    await reconciler.reconcile(`${NS}/plain`);
    assert.equal(world.stored(NS, 'plain')?.status?.warm, true, 'a plain run still takes the older pod');
  });

  it('should end from the attach with the same verdicts when every test came whole, else wait for the log', async () => {
    const cold = await coldStatus();
    const { world, reconciler, podName, log } = await warmWorld();
    // An attach that lost the middle of the frames is not the whole run.
    const cut = log.replace(testsLog, testsLog.slice(0, 40) + testsLog.slice(60));
    world.follows.get(podName)?.onEnd({ stdout: Buffer.from(cut, 'latin1'), stderr: Buffer.alloc(0) });
    await reconciler.reconcile(`${NS}/hello`);
    assert.equal(world.stored(NS, 'hello')?.status?.phase, 'Running', 'not judged from cut frames');
    world.follows.get(podName)?.onEnd({ stdout: Buffer.from(log, 'latin1'), stderr: Buffer.alloc(0) });
    await reconciler.reconcile(`${NS}/hello`);
    const warm = world.stored(NS, 'hello')?.status;
    assert.equal(warm?.warm, true);
    assert.deepEqual(judged(warm), judged(cold));
    assert.equal(world.pods.has(`${NS}/${podName}`), false, 'judged before the kubelet said so, and deleted');
  });
});
