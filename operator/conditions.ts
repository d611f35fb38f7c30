import { boundedMessage, type Condition } from '../contract/crd.js';
import { ACCEPTED_REASON, CONDITION_TYPE, isTerminal, RUNNING_REASON, UNKNOWN_REASON } from '../contract/index.js';
import type { Execution } from '../contract/objects.js';
import type { Observation } from './observation.js';
import type { Outcome } from './outcome.js';
import { rfc3339 } from './time.js';

// The conditions of an Execution's status: was it accepted, is it running, did it succeed.

export function conditionsFor(execution: Execution, observed: Observation, outcome: Outcome, now: Date): Condition[] {
  const generation = execution.metadata.generation ?? 0;
  const make = (type: string, status: Condition['status'], reason: string, message: string): Condition => ({
    type,
    status,
    observedGeneration: generation,
    lastTransitionTime: rfc3339(now),
    reason,
    message: boundedMessage(message),
  });
  const accepted = !observed.runtimeFound
    ? make(
        CONDITION_TYPE.accepted,
        'False',
        ACCEPTED_REASON.runtimeNotFound,
        `no Runtime named ${execution.spec.runtime}`,
      )
    : observed.plan && !observed.plan.ok
      ? make(CONDITION_TYPE.accepted, 'False', ACCEPTED_REASON.invalidSpec, observed.plan.message)
      : make(CONDITION_TYPE.accepted, 'True', ACCEPTED_REASON.accepted, '');
  const terminal = isTerminal(outcome.phase);
  const runningNow = outcome.phase === 'Running';
  const running = make(
    CONDITION_TYPE.running,
    runningNow ? 'True' : 'False',
    runningNow
      ? RUNNING_REASON.running
      : terminal
        ? RUNNING_REASON.finished
        : observed.queuePosition
          ? RUNNING_REASON.queued
          : RUNNING_REASON.pending,
    runningNow || !terminal ? outcome.message : '',
  );
  const succeeded = terminal
    ? make(
        CONDITION_TYPE.succeeded,
        outcome.phase === 'Succeeded' ? 'True' : 'False',
        outcome.reason ?? UNKNOWN_REASON,
        outcome.message,
      )
    : make(CONDITION_TYPE.succeeded, 'Unknown', outcome.phase, outcome.message);
  const previous = execution.status?.conditions ?? [];
  return [accepted, running, succeeded].map((condition) => keepTransitionTime(condition, previous));
}

/** A condition whose status did not change keeps the time it last changed. */
export function keepTransitionTime(condition: Condition, previous: readonly Condition[]): Condition {
  const before = previous.find((candidate) => candidate.type === condition.type);
  if (before && before.status === condition.status) {
    return { ...condition, lastTransitionTime: before.lastTransitionTime };
  }
  return condition;
}
