import { isTerminal } from '../../contract/index.js';
import { type ExecutionObject, LABELS } from '../../contract/objects.js';
import type { Delivery } from '../callbacks/delivery.js';
import { callbackMessage } from '../callbacks/message.js';
import type { DeliveryStore } from '../callbacks/store.js';
import { CALLBACK_FORMAT_ANNOTATION } from './execution-object.js';
import type { ExecutionRef } from './names.js';
import { toResult } from './result.js';

// Callback deliveries kept in the Execution itself, so that any gateway replica can go on with
// one when the replica that started it is gone. The annotation holds the delivery's state; the
// replica sending it holds it for a while and renews that at every attempt, and taking it is an
// update that fails when someone else changed the object first (resourceVersion), so one replica
// delivers at a time. The body is the result as the Execution's status tells it, in the shape the
// format annotation names (Judge0's for a submission made through /judge0).

export const CALLBACK_ANNOTATION = 'sandpod.dev/callback';

interface CallbackState {
  state: 'pending' | 'done';
  attempts: number;
  firstAttemptAt: number;
  holder: string;
  heldUntil: number;
}

export interface DeliveryApi {
  /** The watch's cache of Executions (without output). */
  list(): readonly ExecutionObject[];
  readWhole(ref: ExecutionRef): Promise<ExecutionObject | undefined>;
  /** A JSON merge patch; rejects with an error whose `code` is 409 when resourceVersion no longer matches. */
  patch(ref: ExecutionRef, body: unknown): Promise<void>;
  refOf(tenant: string, id: string): ExecutionRef | undefined;
}

export interface ExecutionDeliveryOptions {
  api: DeliveryApi;
  /** This replica's name in the annotation. */
  holder: string;
  /** How long a replica's hold lasts without an attempt renewing it. */
  holdMs: number;
  now?: () => number;
}

function stateOf(execution: ExecutionObject): CallbackState | undefined {
  const text = execution.metadata.annotations?.[CALLBACK_ANNOTATION];
  if (!text) return undefined;
  try {
    return JSON.parse(text) as CallbackState;
  } catch {
    return undefined;
  }
}

const conflict = (error: unknown) => (error as { code?: unknown }).code === 409;

export function executionDeliveryStore(options: ExecutionDeliveryOptions): DeliveryStore {
  const { api, holder } = options;
  const now = options.now ?? Date.now;
  const heldByOther = (state: CallbackState | undefined) =>
    state !== undefined && state.holder !== holder && state.heldUntil > now();

  const annotate = (state: CallbackState, resourceVersion?: string) => ({
    metadata: {
      ...(resourceVersion ? { resourceVersion } : {}),
      annotations: { [CALLBACK_ANNOTATION]: JSON.stringify(state) },
    },
  });

  return {
    async save(delivery) {
      const ref = api.refOf(delivery.tenant, delivery.id);
      const execution = ref && (await api.readWhole(ref));
      if (!ref || !execution) return false;
      const current = stateOf(execution);
      if (current?.state === 'done' || heldByOther(current)) return false;
      const state: CallbackState = {
        state: 'pending',
        attempts: delivery.attempts,
        firstAttemptAt: delivery.firstAttemptAt,
        holder,
        heldUntil: now() + options.holdMs,
      };
      try {
        await api.patch(ref, annotate(state, execution.metadata.resourceVersion));
        return true;
      } catch (error) {
        if (conflict(error)) return false;
        throw error;
      }
    },
    async remove(id) {
      const execution = api.list().find((candidate) => candidate.metadata.name === id);
      const tenant = execution?.metadata.labels?.[LABELS.tenant];
      const ref = tenant ? api.refOf(tenant, id) : undefined;
      if (!ref) return;
      const state = stateOf(execution as ExecutionObject);
      await api.patch(
        ref,
        annotate({ ...(state ?? { attempts: 0, firstAttemptAt: now() }), state: 'done', holder, heldUntil: 0 }),
      );
    },
    async pending() {
      const due = api.list().filter((execution) => {
        const state = stateOf(execution);
        return (
          execution.spec.callbackUrl !== undefined &&
          execution.status?.phase !== undefined &&
          isTerminal(execution.status.phase) &&
          state?.state !== 'done' &&
          !heldByOther(state)
        );
      });
      const deliveries: Delivery[] = [];
      for (const execution of due) {
        const tenant = execution.metadata.labels?.[LABELS.tenant];
        const id = execution.metadata.name;
        const ref = tenant && id ? api.refOf(tenant, id) : undefined;
        const whole = ref && (await api.readWhole(ref));
        if (!tenant || !id || !whole || whole.spec.callbackUrl === undefined) continue;
        const state = stateOf(whole);
        const format = whole.metadata.annotations?.[CALLBACK_FORMAT_ANNOTATION] === 'judge0' ? 'judge0' : 'sandpod';
        deliveries.push({
          id,
          tenant,
          url: whole.spec.callbackUrl,
          ...callbackMessage(toResult(whole), format),
          firstAttemptAt: state?.firstAttemptAt ?? now(),
          attempts: state?.attempts ?? 0,
        });
      }
      return deliveries;
    },
  };
}
