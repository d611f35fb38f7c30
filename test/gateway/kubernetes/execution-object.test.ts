import assert from 'node:assert/strict';
import { executionSpecSchema } from '../../../contract/crd.js';
import { DEFAULT_LIMITS } from '../../../contract/index.js';
import { LABELS } from '../../../contract/objects.js';
import {
  CALLBACK_FORMAT_ANNOTATION,
  desiredExecution,
  slimExecution,
} from '../../../gateway/kubernetes/execution-object.js';

const where = { tenant: 'alpha', namespace: 'sandpod-alpha', name: 'ex-0123456789abcdef' };

describe('desiredExecution', () => {
  it('should carry the request, the resolved limits, the TTL and the tenant label', () => {
    const execution = desiredExecution(
      { runtime: 'python', source: 'print(1)\n', stdin: 'in', args: ['-x'], limits: DEFAULT_LIMITS },
      where,
      { ttlSecondsAfterFinished: 600 },
    );

    assert.equal(execution.apiVersion, 'sandpod.dev/v1alpha1');
    assert.equal(execution.kind, 'Execution');
    assert.deepEqual(execution.metadata, {
      name: where.name,
      namespace: where.namespace,
      labels: { [LABELS.tenant]: 'alpha' },
    });
    assert.deepEqual(execution.spec, {
      runtime: 'python',
      source: 'print(1)\n',
      stdin: 'in',
      args: ['-x'],
      limits: DEFAULT_LIMITS,
      ttlSecondsAfterFinished: 600,
    });
  });

  it('should leave out what the request left out and mark interactive runs', () => {
    const execution = desiredExecution(
      { runtime: 'c', files: [{ name: 'main.c', content: 'int main(){}' }], interactive: true, limits: DEFAULT_LIMITS },
      where,
      { ttlSecondsAfterFinished: 0 },
    );

    assert.deepEqual(Object.keys(execution.spec).sort(), [
      'files',
      'interactive',
      'limits',
      'runtime',
      'ttlSecondsAfterFinished',
    ]);
    assert.equal(execution.spec.interactive, true);
  });

  it("should mark a Judge0 submission's Execution so any replica sends Judge0's callback body", () => {
    const spec = { runtime: 'python', source: '', limits: DEFAULT_LIMITS, callbackUrl: 'http://hooks/' };
    const judge0 = desiredExecution({ ...spec, callbackFormat: 'judge0' }, where, { ttlSecondsAfterFinished: 0 });
    const own = desiredExecution(spec, where, { ttlSecondsAfterFinished: 0 });

    assert.deepEqual(judge0.metadata.annotations, { [CALLBACK_FORMAT_ANNOTATION]: 'judge0' });
    assert.equal(own.metadata.annotations, undefined);
    assert.equal('callbackFormat' in judge0.spec, false, 'the spec stays as the CRD describes it');
  });

  it('should build a spec the CRD schema accepts', () => {
    const execution = desiredExecution({ runtime: 'python', source: '', limits: DEFAULT_LIMITS }, where, {
      ttlSecondsAfterFinished: 3600,
    });

    assert.ok(executionSpecSchema.safeParse(execution.spec).success);
  });

  it('should not share arrays or limits with the request', () => {
    const limits = { ...DEFAULT_LIMITS };
    const args = ['a'];

    const execution = desiredExecution({ runtime: 'python', source: '', args, limits }, where, {
      ttlSecondsAfterFinished: 1,
    });
    args.push('b');
    limits.memoryMiB = 1;

    assert.deepEqual(execution.spec.args, ['a']);
    assert.equal(execution.spec.limits?.memoryMiB, DEFAULT_LIMITS.memoryMiB);
  });
});

describe('slimExecution', () => {
  it('should drop source, stdin, args, output and managed fields and keep what followers need', () => {
    const whole = desiredExecution(
      {
        runtime: 'python',
        source: 'x'.repeat(1000),
        stdin: 'in',
        args: ['a'],
        interactive: true,
        limits: DEFAULT_LIMITS,
      },
      where,
      { ttlSecondsAfterFinished: 60 },
    );
    whole.metadata.managedFields = [{ manager: 'kubectl' }];
    whole.spec.cancel = true;
    whole.status = {
      phase: 'Succeeded',
      reason: 'Completed',
      stdout: 'big',
      stderr: 'big',
      podName: 'p',
      message: 'm',
    };

    const slim = slimExecution(whole);

    assert.deepEqual(slim.spec, {
      runtime: 'python',
      interactive: true,
      limits: DEFAULT_LIMITS,
      ttlSecondsAfterFinished: 60,
      cancel: true,
    });
    assert.deepEqual(slim.status, { phase: 'Succeeded', reason: 'Completed', podName: 'p', message: 'm' });
    assert.equal(slim.metadata.managedFields, undefined);
    assert.equal(slim.metadata.labels?.[LABELS.tenant], 'alpha');
    assert.equal(whole.status.stdout, 'big');
  });
});
