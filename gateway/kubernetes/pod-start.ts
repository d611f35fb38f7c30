import type { ExecutionObject } from '../../contract/objects.js';
import { podNameFor } from '../../contract/objects.js';
import { ApiRequestError } from './api-request.js';
import { phaseOf } from './result.js';

// When the gateway may reach an Execution's pod (its log, its attach) and how often it asks while
// the pod starts. The operator writes status.podName in the same pass that creates the pod, so
// from then on the pod exists; waiting for phase Running instead would add the kubelet reporting
// the container, the operator writing status and the watch delivering it to the first output.

/** The pod that runs an Execution: the one status names, else the operator's fixed child name. */
export function podNameOf(execution: ExecutionObject): string {
  return execution.status?.podName ?? podNameFor(execution.metadata.name ?? '');
}

/** Whether the Execution's pod has been created: status names it, or the program runs. */
export function hasPod(execution: ExecutionObject): boolean {
  return Boolean(execution.status?.podName) || phaseOf(execution) === 'Running';
}

/**
 * The answers of a pod that is still starting: 400 while it has no node ("does not have a host
 * assigned") or its container waits ("is waiting to start: ContainerCreating"), 404 for a pod
 * the API server does not show yet. Tried again soon; anything else backs off further.
 */
export function isStartingAnswer(error: unknown): boolean {
  return error instanceof ApiRequestError && (error.code === 400 || error.code === 404);
}

/** First wait after a starting pod refused: a hello world's container starts within a second. */
export const FIRST_START_RETRY_MS = 100;

/**
 * Waits between tries: doubling from `FIRST_START_RETRY_MS` up to `startingMaxMs` while the pod
 * answers that it is starting; from `startingMaxMs` up to `otherMaxMs` once it answered anything
 * else (an API server in trouble is not asked twice a second by every follower).
 */
export class RetryDelays {
  private nextMs: number;
  private ceilingMs: number;

  constructor(
    private readonly startingMaxMs: number,
    private readonly otherMaxMs: number,
  ) {
    this.nextMs = Math.min(FIRST_START_RETRY_MS, startingMaxMs);
    this.ceilingMs = startingMaxMs;
  }

  /** The wait before the next try after a refusal; `starting` when the pod said it is starting. */
  after(starting: boolean): number {
    if (!starting) {
      this.ceilingMs = Math.max(this.startingMaxMs, this.otherMaxMs);
      this.nextMs = Math.max(this.nextMs, this.startingMaxMs);
    }
    const waitMs = Math.min(this.nextMs, this.ceilingMs);
    this.nextMs = Math.min(waitMs * 2, this.ceilingMs);
    return waitMs;
  }
}
