import assert from 'node:assert/strict';
import winston from 'winston';
import type { LogRead } from '../../operator/output.js';
import { Reconciler } from '../../operator/reconciler.js';
import { at, container, execution, policy, runtime, terminated } from './fixtures.js';
import { World } from './world.js';

// A pod that ended on a node whose logs cannot be read (the node is gone; kwok keeps none): the
// Execution must still end, with the outcome of the pod's exit, once the retries are spent.

const silent = winston.createLogger({ silent: true });
const KEY = 'tenant-a/hello';

/** A world whose kubelet never answers a log read until `logsBack`. */
class UnreadableLogsWorld extends World {
  logsBack = false;
  override async readLog(namespace: string, pod: string, read: LogRead) {
    if (!this.logsBack) throw new Error('Get "https://10.89.0.1:10250/containerLogs": dial tcp: i/o timeout');
    return super.readLog(namespace, pod, read);
  }
}

async function endedPodWith(exitCode: number, attempts: number, giveUpSeconds = 0) {
  const world = new UnreadableLogsWorld();
  world.runtimeObjects.push(runtime());
  world.addExecution(execution());
  const clock = { seconds: 5 };
  const reconciler = new Reconciler(
    world,
    world,
    policy({ status: { logReadAttempts: attempts, logReadGiveUpSeconds: giveUpSeconds } }),
    silent,
    () => at(clock.seconds),
  );
  await reconciler.reconcile(KEY);
  world.setPodStatus('tenant-a', 'hello-run', {
    phase: exitCode === 0 ? 'Succeeded' : 'Failed',
    containerStatuses: [container('run', terminated(exitCode))],
  });
  return { world, clock, pass: () => reconciler.reconcile(KEY), current: () => world.stored('tenant-a', 'hello') };
}

describe('Reconciler when the logs of an ended pod cannot be read', () => {
  it('should retry the read, then end with the exit outcome, no output and a message saying why', async () => {
    const { world, pass, current } = await endedPodWith(0, 3);
    await assert.rejects(pass(), /i\/o timeout/);
    await assert.rejects(pass(), /i\/o timeout/);
    assert.equal(current()?.status?.phase, 'Pending', 'not finished while retries are left');

    await pass();

    const status = current()?.status;
    assert.equal(status?.phase, 'Succeeded');
    assert.equal(status?.reason, 'Completed');
    assert.equal(status?.exitCode, 0);
    assert.equal(status?.stdout, '');
    assert.match(status?.message ?? '', /output could not be read: .*i\/o timeout/);
    assert.equal(world.pods.size, 0, 'the pod is deleted as after any end');
  });

  it('should keep the failure outcome of a non-zero exit when it gives up', async () => {
    const { pass, current } = await endedPodWith(3, 1);
    await pass();
    assert.equal(current()?.status?.reason, 'NonZeroExit');
    assert.equal(current()?.status?.exitCode, 3);
  });

  it('should go on retrying past the attempts until the give-up time passed when a kubelet restarts', async () => {
    const { world, clock, pass, current } = await endedPodWith(0, 3, 60);
    world.logs.set('hello-run/run/Stdout', 'hello\n');
    for (let attempt = 0; attempt < 5; attempt++) await assert.rejects(pass(), /i\/o timeout/);
    clock.seconds += 59;
    await assert.rejects(pass(), /i\/o timeout/);
    assert.equal(current()?.status?.phase, 'Pending', 'not given up 59 s after the first failure');
    world.logsBack = true;
    await pass();
    assert.equal(current()?.status?.stdout, 'hello\n');
  });

  it('should give up once both the attempts and the give-up time are spent', async () => {
    const { clock, pass, current } = await endedPodWith(0, 3, 60);
    await assert.rejects(pass());
    clock.seconds += 60;
    await assert.rejects(pass());
    await pass();
    assert.equal(current()?.status?.reason, 'Completed');
    assert.match(current()?.status?.message ?? '', /output could not be read/);
  });

  it('should take the output when a retry reads it', async () => {
    const { world, pass, current } = await endedPodWith(0, 3);
    world.logs.set('hello-run/run/Stdout', 'hello\n');
    await assert.rejects(pass());
    world.logsBack = true;
    await pass();
    assert.equal(current()?.status?.stdout, 'hello\n');
    assert.doesNotMatch(current()?.status?.message ?? '', /could not be read/);
  });
});
