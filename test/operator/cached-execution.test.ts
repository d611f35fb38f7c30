import assert from 'node:assert/strict';
import { slimExecution } from '../../operator/cached-execution.js';
import { planExecution } from '../../operator/plan.js';
import { execution, policy, runtime, T0 } from './fixtures.js';

describe('slimExecution (operator/cached-execution.ts)', () => {
  it('should empty source, file contents and stdin and keep the rest of a running Execution', () => {
    const whole = execution(
      { source: undefined, files: [{ name: 'main.py', content: 'print(1)\n' }], stdin: 'in', args: ['-v'] },
      { status: { phase: 'Running', podName: 'hello-run', stdout: '', stderr: '' } },
    );
    whole.metadata.managedFields = [{ manager: 'gateway', operation: 'Update' }];

    const slim = slimExecution(whole);

    assert.deepEqual(slim.spec.files, [{ name: 'main.py', content: '' }]);
    assert.equal(slim.spec.stdin, '');
    assert.deepEqual(slim.spec.args, ['-v']);
    assert.deepEqual(slim.status, whole.status);
    assert.equal(slim.metadata.managedFields, undefined);
    assert.equal(whole.spec.stdin, 'in', 'the original is left alone');
  });

  it('should still plan as the whole object does, for everything but the payload', () => {
    const whole = execution({ source: 'print(2)\n', limits: { memoryMiB: 128 } });

    const slim = planExecution(slimExecution(whole), runtime(), policy());
    const full = planExecution(whole, runtime(), policy());

    assert.ok(slim.ok && full.ok);
    assert.deepEqual(slim.plan.limits, full.plan.limits);
    assert.deepEqual(slim.plan.runArgv, full.plan.runArgv);
  });

  it('should keep of a finished Execution only what cleanup, the TTL and the cap read', () => {
    const whole = execution(
      { ttlSecondsAfterFinished: 60, limits: { memoryMiB: 128 } },
      {
        status: {
          phase: 'Succeeded',
          reason: 'Completed',
          podName: 'hello-run',
          finishedAt: T0.toISOString(),
          stdout: 'x'.repeat(100_000),
          stderr: '',
          message: 'exited with code 0',
          conditions: [],
        },
      },
    );
    whole.metadata.labels = { 'sandpod.dev/tenant': 'alpha' };
    whole.metadata.resourceVersion = '42';

    assert.deepEqual(slimExecution(whole), {
      apiVersion: 'sandpod.dev/v1alpha1',
      kind: 'Execution',
      metadata: {
        name: 'hello',
        namespace: 'tenant-a',
        uid: whole.metadata.uid,
        resourceVersion: '42',
        generation: 1,
        creationTimestamp: T0,
      },
      spec: { runtime: 'python', ttlSecondsAfterFinished: 60 },
      status: { phase: 'Succeeded', reason: 'Completed', podName: 'hello-run', finishedAt: T0.toISOString() },
    });
  });
});
