import type {
  ExecutionRequest,
  ExecutionResult,
  Limits,
  Phase,
  RuntimeInfo,
  RuntimeLimits,
  Stream,
} from '../contract/index.js';
import type { CallbackFormat } from './callbacks/message.js';
import type { DeliveryStore } from './callbacks/store.js';
import type { TenantDirectory } from './tenancy/tenant-directory.js';

/** A request that passed validation and admission: limits resolved against the tenant's policy. */
export interface ExecutionSpec extends Omit<ExecutionRequest, 'limits'> {
  limits: Limits;
  /** What the callbackUrl gets: sandpod's result, or Judge0's submission for one made through /judge0. */
  callbackFormat?: CallbackFormat;
}

export type ExecutionEvent =
  | { type: 'output'; stream: Stream; data: string }
  | { type: 'status'; phase: Phase }
  | { type: 'exit'; result: ExecutionResult };

/**
 * Where executions run: the embedded sandbox or Kubernetes. Routes and socket handlers speak only
 * to this. Every call names the tenant; an execution of another tenant is treated as missing.
 */
export interface ExecutionBackend {
  /** Runtimes that work right now. */
  runtimes(): Promise<RuntimeInfo[]>;
  /**
   * A runtime's own default and maximum limits (by its name), which the gateway applies within the
   * tenant's policy; without it, or for a runtime that sets none, the tenant's policy alone.
   */
  runtimeLimits?(name: string): RuntimeLimits | undefined;
  /** Accepts an execution; throws an ApiError (503 when at capacity, 400 for an unknown runtime). */
  start(tenant: string, spec: ExecutionSpec): Promise<{ id: string }>;
  get(tenant: string, id: string): Promise<ExecutionResult | undefined>;
  /** Returns false when there is no such execution; cancelling a finished one is a no-op. */
  cancel(tenant: string, id: string): Promise<boolean>;
  /** Sends input to an interactive execution; `null` closes its stdin. Throws an ApiError. */
  stdin(tenant: string, id: string, data: string | null): Promise<void>;
  /**
   * Output already produced (replayed first), then live events, ending with one `exit`.
   * Undefined when there is no such execution. Stops early when `signal` aborts.
   */
  follow(tenant: string, id: string, signal: AbortSignal): AsyncIterable<ExecutionEvent> | undefined;
  /**
   * Records that a client attached to the execution through this process (a socket `attach`), so
   * that every replica can tell it is followed. Without it, each process knows only its own.
   */
  noteAttach?(tenant: string, id: string): Promise<void>;
  /** Whether a client attached to the execution on any replica at or after `sinceMs` (epoch ms). */
  attachedSince?(tenant: string, id: string, sinceMs: number): Promise<boolean>;
  /** Resolves once the execution is terminal. */
  wait(tenant: string, id: string, signal?: AbortSignal): Promise<ExecutionResult | undefined>;
  /**
   * Unfinished executions of the tenant on every replica, when the backend can tell (Kubernetes:
   * from its watch). Without it, each gateway process counts the executions it started itself.
   */
  unfinished?(tenant: string): number;
  /** The tenants, when the backend reads them itself (Kubernetes: a watched Secret); else the configuration file's. */
  readonly tenants?: TenantDirectory;
  /** Where callback deliveries wait until done; one that outlives the process, if the backend has it. */
  readonly deliveryStore?: DeliveryStore;
  /** Number of executions running and queued, for metrics and readiness. */
  load(): { running: number; queued: number };
  ready(): Promise<boolean>;
  /** Stops accepting work; lets running executions finish until the deadline, then cancels them. */
  close(deadlineMs: number): Promise<void>;
}
