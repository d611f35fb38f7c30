import assert from 'node:assert/strict';
import { addedLatencyMs, affectedBy, podCreatesFromAudit, undisturbedLatency } from '../../bench/lib/chaos-figures.js';
import { MIX, PROGRAMS } from '../../bench/lib/chaos-mix.js';
import type { ExecutionResult } from '../../contract/index.js';

const event = (namespace: string, name: string, code: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    stage: 'ResponseComplete',
    verb: 'create',
    objectRef: { resource: 'pods', namespace, name, apiVersion: 'v1' },
    responseStatus: { code },
    ...extra,
  });

describe('podCreatesFromAudit', () => {
  it('should count created and refused pod creates by name when the namespace matches', () => {
    const lines = [
      event('chaos', 'ex-a-run', 201),
      event('chaos', 'ex-a-run', 409),
      event('chaos', 'ex-b-run', 201),
      event('chaos', 'ex-b-run', 201),
      event('other', 'ex-c-run', 201),
    ];
    const counts = podCreatesFromAudit(lines, 'chaos');
    assert.deepEqual(Object.fromEntries(counts), {
      'ex-a-run': { created: 1, refused: 1 },
      'ex-b-run': { created: 2, refused: 0 },
    });
  });

  it('should ignore other verbs, subresources, other stages and lines that are not JSON when reading the log', () => {
    const lines = [
      event('chaos', 'ex-a-run', 201, { verb: 'delete' }),
      event('chaos', 'ex-a-run', 201, {
        objectRef: { resource: 'pods', namespace: 'chaos', name: 'ex-a-run', subresource: 'eviction' },
      }),
      event('chaos', 'ex-a-run', 201, { stage: 'ResponseStarted' }),
      '{"pods": truncated',
      '',
    ];
    assert.equal(podCreatesFromAudit(lines, 'chaos').size, 0);
  });
});

describe('fault attribution', () => {
  const fault = { kind: 'etcd', startMs: 10_000, recoveredMs: 15_000 };

  it('should count an execution as affected when it was under way during the fault', () => {
    assert.equal(affectedBy({ kind: 'hello', acceptedMs: 5_000, finishedMs: 12_000 }, fault), true);
    assert.equal(affectedBy({ kind: 'hello', acceptedMs: 14_000, finishedMs: 20_000 }, fault), true);
    assert.equal(
      affectedBy({ kind: 'hello', acceptedMs: 1_000 }, fault),
      true,
      'a lost execution spans every later fault',
    );
  });

  it('should not count an execution as affected when it ended before or began after the fault', () => {
    assert.equal(affectedBy({ kind: 'hello', acceptedMs: 1_000, finishedMs: 9_999 }, fault), false);
    assert.equal(affectedBy({ kind: 'hello', acceptedMs: 15_001, finishedMs: 20_000 }, fault), false);
  });

  it('should measure added latency against the median of undisturbed executions of the same kind', () => {
    const executions = [
      { kind: 'hello', acceptedMs: 0, finishedMs: 2_000 },
      { kind: 'hello', acceptedMs: 1_000, finishedMs: 4_000 },
      { kind: 'hello', acceptedMs: 20_000, finishedMs: 24_000 },
      { kind: 'hello', acceptedMs: 9_000, finishedMs: 30_000 },
      { kind: 'flood', acceptedMs: 30_000, finishedMs: 31_000 },
    ];
    const undisturbed = undisturbedLatency(executions, [fault]);
    assert.equal(undisturbed.get('hello'), 3_000, 'the median of 2, 3 and 4 s; the disturbed 21 s is left out');
    assert.equal(addedLatencyMs(executions[3] as (typeof executions)[number], undisturbed), 18_000);
    assert.equal(addedLatencyMs({ kind: 'hello', acceptedMs: 0, finishedMs: 1_000 }, undisturbed), 0);
    assert.equal(addedLatencyMs({ kind: 'hello', acceptedMs: 0 }, undisturbed), undefined);
    assert.equal(addedLatencyMs({ kind: 'compiled', acceptedMs: 0, finishedMs: 1 }, undisturbed), undefined);
  });
});

describe('chaos mix', () => {
  const result = (fields: Partial<ExecutionResult>) => ({ phase: 'Failed', stdout: '', ...fields }) as ExecutionResult;

  it('should accept only the outcome each program deserves when checking a result', () => {
    assert.equal(
      PROGRAMS.interactive.check(result({ phase: 'Succeeded', reason: 'Completed', stdout: '7-soahc\n' }), 7),
      '',
    );
    assert.match(
      PROGRAMS.interactive.check(result({ phase: 'Succeeded', reason: 'Completed', stdout: 'chaos-7\n' }), 7),
      /stdout/,
    );
    assert.match(
      PROGRAMS['time-limit'].check(result({ reason: 'SystemError', message: 'pod lost' }), 0),
      /SystemError/,
    );
    assert.equal(
      PROGRAMS['nonzero-exit'].check(result({ reason: 'NonZeroExit', exitCode: 3, stdout: 'bye\n' }), 0),
      '',
    );
    assert.match(
      PROGRAMS['nonzero-exit'].check(result({ reason: 'NonZeroExit', exitCode: 1, stdout: 'bye\n' }), 0),
      /exit code 1/,
    );
    assert.match(
      PROGRAMS['output-flood'].check(result({ reason: 'OutputLimitExceeded', truncated: false }), 0),
      /truncated/,
    );
  });

  it('should hold every program kind when the mix is one round of 20', () => {
    assert.equal(MIX.length, 20);
    assert.deepEqual(new Set(MIX), new Set(Object.keys(PROGRAMS)));
  });
});
