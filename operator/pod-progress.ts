import type { V1Pod } from '@kubernetes/client-node';
import type { Execution } from '../contract/objects.js';
import { placeInLine } from './capacity.js';
import type { StatusPolicy } from './config.js';
import { isCompiling } from './containers.js';
import type { Observation } from './observation.js';
import { failed, type Outcome, pending, running } from './outcome.js';
import type { ExecutionPlan } from './plan.js';
import { endedPod } from './pod-end.js';
import { secondsSince, toDate } from './time.js';

// Where an execution stands, from what the reconciler observed. The checks run in a fixed order:
// the pod ended, cancelled, cannot run, pod lost, waiting, running.

/** Waiting reasons that no amount of waiting fixes. */
const HOPELESS_WAITING = new Set(['ErrImageNeverPull', 'InvalidImageName']);
/** Waiting reasons that may clear up, until podStartTimeoutSeconds says they will not. */
const STUCK_WAITING = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'ContainerCreating',
  'PodInitializing',
]);

export function outcomeOf(
  execution: Execution,
  observed: Observation,
  plan: ExecutionPlan | undefined,
  now: Date,
  policy: StatusPolicy,
): Outcome {
  const pod = observed.pod;
  const podPhase = pod?.status?.phase;
  if (pod && (podPhase === 'Succeeded' || podPhase === 'Failed')) return endedPod(pod, plan, observed.output);
  if (execution.spec.cancel === true) return failed('Cancelled', 'cancelled by spec.cancel');
  if (observed.plan && !observed.plan.ok) return failed('SystemError', observed.plan.message);
  if (!observed.runtimeFound) {
    const waited = secondsSince(execution.metadata.creationTimestamp, now);
    const message = `no Runtime named ${execution.spec.runtime}; see kubectl get runtimes.sandpod.dev`;
    return waited >= policy.runtimeMissingSeconds ? failed('SystemError', message) : pending(message);
  }
  if (observed.createError) return failed('SystemError', observed.createError);
  if (!pod) {
    if (execution.status?.podName) {
      return failed('SystemError', `pod ${execution.status.podName} was deleted before the execution finished`);
    }
    if (observed.queuePosition) {
      return pending(
        `queued: ${placeInLine(observed.queuePosition)} in line for this namespace's cap on running executions`,
      );
    }
    return pending('creating the pod');
  }
  const overdue = overdueSeconds(pod, now, policy);
  if (overdue > 0) {
    return failed(
      'SystemError',
      `the node did not stop the pod ${overdue}s after its deadline of ${pod.spec?.activeDeadlineSeconds}s; check the node's container runtime`,
    );
  }
  if (isCompiling(pod)) return running('compiling');
  if (podPhase === 'Running') return running('running');
  return waitingPod(pod, now, policy);
}

function waitingPod(pod: V1Pod, now: Date, policy: StatusPolicy): Outcome {
  const waited = secondsSince(pod.metadata?.creationTimestamp, now);
  const timedOut = waited >= policy.podStartTimeoutSeconds;
  for (const status of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = status.state?.waiting;
    if (!waiting?.reason) continue;
    const detail = `container ${status.name} is waiting: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}`;
    if (HOPELESS_WAITING.has(waiting.reason)) {
      return failed('SystemError', `${detail}; the Runtime's image ${status.image ?? ''} is not on the node`);
    }
    if (STUCK_WAITING.has(waiting.reason) && timedOut) {
      return failed('SystemError', `${detail} for ${waited}s; check the Runtime's image and the node`);
    }
  }
  const scheduled = pod.status?.conditions?.find((condition) => condition.type === 'PodScheduled');
  if (scheduled?.status === 'False') {
    const detail = `pod cannot be scheduled: ${scheduled.message ?? scheduled.reason ?? 'no reason given'}`;
    if (timedOut) {
      return failed('SystemError', `${detail} for ${waited}s; add capacity or lower the execution's limits`);
    }
    return pending(detail);
  }
  if (timedOut) return failed('SystemError', `pod did not start within ${policy.podStartTimeoutSeconds}s`);
  return pending('starting the pod');
}

/** Seconds past its deadline and grace that a pod is still not ended; 0 when it is not late. */
export function overdueSeconds(pod: V1Pod, now: Date, policy: StatusPolicy): number {
  const started = toDate(pod.status?.startTime);
  const deadline = pod.spec?.activeDeadlineSeconds;
  if (!started || deadline === undefined) return 0;
  const late = secondsSince(started, now) - deadline - policy.deadlineGraceSeconds;
  return late > 0 ? late + policy.deadlineGraceSeconds : 0;
}
