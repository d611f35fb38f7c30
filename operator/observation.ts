import type { V1Pod } from '@kubernetes/client-node';
import type { CapturedOutput } from './output.js';
import type { ExecutionPlan } from './plan.js';

/** What the reconciler found this pass, from which the status is rebuilt. */
export interface Observation {
  /** Whether a Runtime with the spec's name or alias exists. */
  runtimeFound: boolean;
  /** The checked plan, or why the spec cannot run; absent while the Runtime is missing. */
  plan?: { ok: true; plan: ExecutionPlan } | { ok: false; message: string };
  /** The pod, or null when a live read confirmed it does not exist. */
  pod: V1Pod | null;
  /** Output read from a finished pod's logs. */
  output?: CapturedOutput;
  /** A permanent failure creating a child, said so a person can act on it. */
  createError?: string;
  /** Place in the namespace's line when its cap on running executions is reached. */
  queuePosition?: number;
}
