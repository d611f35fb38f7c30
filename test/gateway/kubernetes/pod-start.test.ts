import assert from 'node:assert/strict';
import type { ExecutionObject } from '../../../contract/objects.js';
import { type Execution, podName } from '../../../contract/objects.js';
import { ApiRequestError } from '../../../gateway/kubernetes/api-request.js';
import {
  FIRST_START_RETRY_MS,
  hasPod,
  isStartingAnswer,
  podNameOf,
  RetryDelays,
} from '../../../gateway/kubernetes/pod-start.js';

// When the gateway reaches for an Execution's pod, and how it waits while the pod starts.

const execution = (name: string, status?: ExecutionObject['status']): ExecutionObject => ({
  apiVersion: 'sandpod.dev/v1alpha1',
  kind: 'Execution',
  metadata: { name, namespace: 'ns' },
  spec: { runtime: 'python', source: '' },
  ...(status ? { status } : {}),
});

describe('pod of an Execution', () => {
  it('should name the pod the operator creates, for short and long Execution names alike', () => {
    for (const name of ['ex-1', `ex-${'a'.repeat(70)}`]) {
      assert.equal(podNameOf(execution(name)), podName(execution(name) as unknown as Execution));
    }
  });

  it('should take the pod status names over the derived name', () => {
    assert.equal(podNameOf(execution('ex-1', { podName: 'other' })), 'other');
  });

  it('should count the pod as there once status names it, or the program runs', () => {
    assert.equal(hasPod(execution('ex-1')), false);
    assert.equal(hasPod(execution('ex-1', { phase: 'Pending', message: 'queued: 3 in line' })), false);
    assert.equal(hasPod(execution('ex-1', { phase: 'Pending', podName: 'ex-1-run' })), true);
    assert.equal(hasPod(execution('ex-1', { phase: 'Running' })), true);
  });

  it("should take the API server's and kubelet's refusals of a starting pod as starting, and nothing else", () => {
    const waiting = 'container "run" in pod "ex-1-run" is waiting to start: ContainerCreating';
    assert.equal(isStartingAnswer(new ApiRequestError(400, waiting)), true);
    assert.equal(isStartingAnswer(new ApiRequestError(400, 'pod ex-1-run does not have a host assigned')), true);
    assert.equal(isStartingAnswer(new ApiRequestError(404, 'pods "ex-1-run" not found')), true);
    assert.equal(isStartingAnswer(new ApiRequestError(500, 'etcdserver: request timed out')), false);
    assert.equal(isStartingAnswer(new ApiRequestError(403, 'forbidden')), false);
    assert.equal(isStartingAnswer(new Error('socket hang up')), false);
  });
});

describe('RetryDelays', () => {
  it('should wait briefly first and double up to the starting ceiling while the pod starts', () => {
    const delays = new RetryDelays(500, 30_000);

    const waits = Array.from({ length: 6 }, () => delays.after(true));

    assert.deepEqual(waits, [FIRST_START_RETRY_MS, 200, 400, 500, 500, 500]);
  });

  it('should back off from the starting ceiling to the other ceiling after any other refusal', () => {
    const delays = new RetryDelays(500, 4000);

    const waits = [delays.after(true), ...Array.from({ length: 5 }, () => delays.after(false)), delays.after(true)];

    assert.deepEqual(waits, [FIRST_START_RETRY_MS, 500, 1000, 2000, 4000, 4000, 4000]);
  });

  it('should never wait longer than a starting ceiling below the first wait', () => {
    const delays = new RetryDelays(20, 30_000);

    assert.deepEqual([delays.after(true), delays.after(true)], [20, 20]);
  });
});
