import assert from 'node:assert/strict';
import type { ExecutionStatus } from '../../../contract/crd.js';
import type { ExecutionObject } from '../../../contract/objects.js';
import { deletedResult, isLaterPhase, phaseOf, toResult } from '../../../gateway/kubernetes/result.js';

const execution = (status?: Partial<ExecutionStatus> & Record<string, unknown>): ExecutionObject => ({
  apiVersion: 'sandpod.dev/v1alpha1',
  kind: 'Execution',
  metadata: { name: 'ex-1', namespace: 'sandpod-alpha', creationTimestamp: new Date('2026-01-02T03:04:05Z') },
  spec: { runtime: 'python', source: '' },
  ...(status ? { status: status as Partial<ExecutionStatus> } : {}),
});

const complete: ExecutionStatus = {
  phase: 'Failed',
  reason: 'TimeLimitExceeded',
  exitCode: null,
  signal: 'SIGKILL',
  message: 'exceeded the wall time limit of 1000 ms',
  startedAt: '2026-01-02T03:04:06Z',
  finishedAt: '2026-01-02T03:04:08Z',
  durationMs: 1001,
  duration: '1s',
  compile: { exitCode: 0, durationMs: 300, output: 'warning\n' },
  stdout: 'out',
  stderr: 'err',
  truncated: true,
  usage: { cpuTimeMs: 990, wallTimeMs: 1001, memoryPeakMiB: 12.5 },
  podName: 'ex-1-run',
  observedGeneration: 2,
  conditions: [],
};

describe('toResult', () => {
  it('should map a complete status field by field when the operator wrote it', () => {
    assert.deepEqual(toResult(execution(complete)), {
      id: 'ex-1',
      runtime: 'python',
      phase: 'Failed',
      reason: 'TimeLimitExceeded',
      exitCode: null,
      signal: 'SIGKILL',
      message: 'exceeded the wall time limit of 1000 ms',
      createdAt: '2026-01-02T03:04:05.000Z',
      startedAt: '2026-01-02T03:04:06Z',
      finishedAt: '2026-01-02T03:04:08Z',
      durationMs: 1001,
      compile: { exitCode: 0, durationMs: 300, output: 'warning\n' },
      stdout: 'out',
      stderr: 'err',
      truncated: true,
      usage: { cpuTimeMs: 990, wallTimeMs: 1001, memoryPeakMiB: 12.5 },
    });
  });

  it('should answer Pending with empty output when the operator has not written status yet', () => {
    const result = toResult(execution());

    assert.equal(result.phase, 'Pending');
    assert.equal(result.reason, null);
    assert.equal(result.stdout, '');
    assert.equal(result.truncated, false);
    assert.equal(result.startedAt, null);
    assert.equal('compile' in result, false);
  });

  it('should leave out the reason while the phase is not terminal', () => {
    assert.equal(toResult(execution({ phase: 'Running', reason: 'Completed' })).reason, null);
  });

  it('should call a failure with an unknown reason a SystemError', () => {
    const written = { phase: 'Failed', reason: 'Exploded' } as unknown as Partial<ExecutionStatus>;

    assert.equal(toResult(execution(written)).reason, 'SystemError');
  });

  it('should read an unknown phase as Pending', () => {
    const written = { phase: 'Sleeping' } as unknown as Partial<ExecutionStatus>;

    assert.equal(phaseOf(execution(written)), 'Pending');
  });

  it('should give a finished time as text when the status holds a Date', () => {
    const written = {
      phase: 'Succeeded',
      finishedAt: new Date('2026-01-02T03:04:09Z'),
    } as unknown as Partial<ExecutionStatus>;

    assert.equal(toResult(execution(written)).finishedAt, '2026-01-02T03:04:09.000Z');
  });
});

describe('deletedResult', () => {
  const now = new Date('2026-01-02T03:05:00Z');

  it('should report a SystemError when the Execution was deleted before it finished', () => {
    const result = deletedResult(execution({ phase: 'Running', stdout: 'partial' }), now);

    assert.equal(result.phase, 'Failed');
    assert.equal(result.reason, 'SystemError');
    assert.match(result.message, /deleted/);
    assert.equal(result.finishedAt, now.toISOString());
    assert.equal(result.stdout, 'partial');
  });

  it('should keep the final result when the Execution was deleted after it finished', () => {
    assert.deepEqual(deletedResult(execution(complete), now), toResult(execution(complete)));
  });
});

describe('isLaterPhase', () => {
  const table: [Parameters<typeof isLaterPhase>[0], Parameters<typeof isLaterPhase>[1], boolean][] = [
    ['Running', 'Pending', true],
    ['Succeeded', 'Running', true],
    ['Failed', 'Pending', true],
    ['Pending', 'Running', false],
    ['Running', 'Running', false],
    ['Failed', 'Succeeded', false],
  ];
  for (const [next, current, expected] of table) {
    it(`should answer ${expected} for ${next} after ${current}`, () => {
      assert.equal(isLaterPhase(next, current), expected);
    });
  }
});
