import type winston from 'winston';
import type { ExecutionResult, RuntimeInfo } from '../../contract/index.js';
import { parseExecutionRequest, resolveLimits } from '../../contract/index.js';
import { errorMessage } from '../../observability/logger.js';
import type { ExecutionBackend, ExecutionEvent, ExecutionSpec } from '../backend.js';
import { callbackHostAllowed } from '../callbacks/delivery.js';
import type { CallbackDispatcher } from '../callbacks/dispatcher.js';
import { type CallbackFormat, callbackMessage } from '../callbacks/message.js';
import { ApiError, invalid, notFound } from '../errors.js';
import type { GatewayMetrics } from '../metrics.js';
import type { Admission } from './admission.js';
import type { Tenant } from './tenant.js';

/**
 * What REST routes and socket handlers may do on behalf of a tenant. It validates and admits
 * requests, and keeps the bookkeeping (slots, metrics, stdin budget) that follows an execution to
 * its end; the edges only translate.
 */
export interface TenantExecutions {
  runtimes(): Promise<RuntimeInfo[]>;
  /**
   * Validates an untrusted request body and starts it; throws an ApiError (400, 429, 503).
   * `callbackFormat` says what its callbackUrl gets, by the API it came through.
   */
  start(
    tenant: Tenant,
    body: unknown,
    log: winston.Logger,
    options?: { callbackFormat?: CallbackFormat },
  ): Promise<{ id: string; interactive: boolean }>;
  get(tenant: Tenant, id: string): Promise<ExecutionResult>;
  /** Throws a 404 ApiError when the tenant has no such execution. */
  cancel(tenant: Tenant, id: string, log: winston.Logger): Promise<void>;
  /** Sends stdin within the execution's budget; `null` closes it. */
  stdin(tenant: Tenant, id: string, data: string | null): Promise<void>;
  follow(tenant: Tenant, id: string, signal: AbortSignal): AsyncIterable<ExecutionEvent>;
  /** The final result, or undefined when `signal` aborted first; 404 when there is no such execution. */
  wait(tenant: Tenant, id: string, signal: AbortSignal): Promise<ExecutionResult | undefined>;
  /** Tells every replica that a client attached here (where the backend can; else nothing). */
  noteAttach(tenant: Tenant, id: string): Promise<void>;
  /** Whether a client attached on another replica at or after `sinceMs`; false where unknown. */
  attachedSince(tenant: Tenant, id: string, sinceMs: number): Promise<boolean>;
}

export interface TenantExecutionsDeps {
  backend: ExecutionBackend;
  admission: Admission;
  metrics: GatewayMetrics;
  log: winston.Logger;
  maxStdinBytes: number;
  /**
   * The tenant as it is now, for a tenant resolved earlier (a socket's, at its handshake); tenants
   * read from a Secret may change policy or vanish while a socket stays open.
   */
  currentTenant?: (tenant: Tenant) => Tenant | undefined;
  /** Sends results to callbackUrls; without it, a callbackUrl is refused. */
  callbacks?: CallbackDispatcher;
}

/** A 400 naming callbackUrl unless the tenant may be called back there. */
function checkCallbackUrl(tenant: Tenant, callbackUrl: string, canDeliver: boolean): void {
  if (!canDeliver) throw invalid('callbackUrl', 'this gateway does not deliver callbacks');
  if (tenant.callbackSecret === undefined) {
    throw invalid('callbackUrl', `tenant ${tenant.name} has no callbackSecret configured to sign callbacks`);
  }
  const url = new URL(callbackUrl);
  if (!callbackHostAllowed(url, tenant.callbackHosts)) {
    throw invalid('callbackUrl', `host ${url.host} is not on the callback allow-list of tenant ${tenant.name}`);
  }
}

export function findRuntime(runtimes: RuntimeInfo[], name: string): RuntimeInfo | undefined {
  return runtimes.find((runtime) => runtime.name === name || runtime.aliases.includes(name));
}

export function createTenantExecutions(deps: TenantExecutionsDeps): TenantExecutions {
  const { backend, admission, metrics, log } = deps;
  /** Stdin bytes each execution received, by `tenant/id`; an entry lives until its execution ends. */
  const stdinBytes = new Map<string, number>();

  const observeEnd = (
    tenant: Tenant,
    id: string,
    runtime: string,
    releaseSlot: () => void,
    callback: { url: string; format: CallbackFormat } | undefined,
  ) => {
    backend
      .wait(tenant.name, id)
      .then(async (result) => {
        if (!result) return;
        if (callback !== undefined && deps.callbacks) {
          await deps.callbacks.enqueue({
            id,
            tenant: tenant.name,
            url: callback.url,
            ...callbackMessage(result, callback.format),
          });
        }
        metrics.executionsFinished.inc({ runtime, reason: result.reason ?? 'Unknown' });
        if (result.durationMs !== null) metrics.runDuration.observe({ runtime }, result.durationMs / 1000);
        log.debug('Observed end of execution', { id, tenant: tenant.name, runtime, reason: result.reason });
      })
      .catch((error: unknown) => {
        log.error('Failed to wait for execution', { id, tenant: tenant.name, error: errorMessage(error) });
      })
      .finally(releaseSlot);
  };

  return {
    runtimes: () => backend.runtimes(),

    async start(resolvedTenant, body, requestLog, options = {}) {
      const tenant = deps.currentTenant ? deps.currentTenant(resolvedTenant) : resolvedTenant;
      if (!tenant) throw new ApiError(401, 'unauthorized', `tenant ${resolvedTenant.name} no longer exists`);
      const parsed = parseExecutionRequest(body);
      if (!parsed.ok) throw invalid(parsed.error.field, parsed.error.message);
      const { limits: requested, ...request } = parsed.value;
      if (request.callbackUrl !== undefined)
        checkCallbackUrl(tenant, request.callbackUrl, deps.callbacks !== undefined);
      const runtimes = await backend.runtimes();
      const runtime = findRuntime(runtimes, request.runtime);
      if (!runtime) {
        const known = runtimes.map((known) => known.name).join(', ');
        throw invalid('runtime', `unknown runtime ${request.runtime}; available: ${known}`);
      }
      // Limits left out take the runtime's defaults, and none goes past the runtime's or the
      // tenant's maximum; the backend gets them whole, so both backends apply the same ones.
      const resolved = resolveLimits(requested, tenant.limits, {
        name: runtime.name,
        limits: backend.runtimeLimits?.(runtime.name),
      });
      if ('violation' in resolved) throw invalid(resolved.violation.field, resolved.violation.message);
      const releaseSlot = admission.admit(tenant);
      const callbackFormat = request.callbackUrl !== undefined ? options.callbackFormat : undefined;
      const spec: ExecutionSpec = {
        ...request,
        runtime: runtime.name,
        limits: resolved.limits,
        ...(callbackFormat !== undefined && callbackFormat !== 'sandpod' ? { callbackFormat } : {}),
      };
      let id: string;
      try {
        ({ id } = await backend.start(tenant.name, spec));
      } catch (error) {
        releaseSlot();
        throw error;
      }
      // The backend counts it from here on (on every replica); holding the slot too would count it twice.
      if (admission.backendCounts) releaseSlot();
      metrics.executionsStarted.inc({ runtime: runtime.name });
      requestLog.info('Started execution', {
        id,
        tenant: tenant.name,
        runtime: runtime.name,
        interactive: spec.interactive === true,
      });
      const callback =
        spec.callbackUrl === undefined
          ? undefined
          : { url: spec.callbackUrl, format: spec.callbackFormat ?? 'sandpod' };
      observeEnd(tenant, id, runtime.name, releaseSlot, callback);
      return { id, interactive: spec.interactive === true };
    },

    async get(tenant, id) {
      const result = await backend.get(tenant.name, id);
      if (!result) throw notFound();
      return result;
    },

    async cancel(tenant, id, requestLog) {
      if (!(await backend.cancel(tenant.name, id))) throw notFound();
      requestLog.info('Cancelled execution', { id, tenant: tenant.name });
    },

    async stdin(tenant, id, data) {
      if (data === null) return backend.stdin(tenant.name, id, null);
      const bytes = Buffer.byteLength(data, 'utf8');
      const key = `${tenant.name}/${id}`;
      const used = stdinBytes.get(key) ?? 0;
      if (used + bytes > deps.maxStdinBytes) {
        throw new ApiError(
          413,
          'payload_too_large',
          `stdin of execution ${id} would pass its cap of ${deps.maxStdinBytes} bytes`,
          'data',
        );
      }
      // Charged before sending so concurrent sends cannot overrun the cap together.
      if (!stdinBytes.has(key)) {
        void backend
          .wait(tenant.name, id)
          .catch(() => undefined)
          .finally(() => stdinBytes.delete(key));
      }
      stdinBytes.set(key, used + bytes);
      try {
        await backend.stdin(tenant.name, id, data);
      } catch (error) {
        const charged = stdinBytes.get(key);
        if (charged !== undefined) stdinBytes.set(key, charged - bytes);
        throw error;
      }
    },

    follow(tenant, id, signal) {
      const events = backend.follow(tenant.name, id, signal);
      if (!events) throw notFound();
      return events;
    },

    async noteAttach(tenant, id) {
      await backend.noteAttach?.(tenant.name, id);
    },

    async attachedSince(tenant, id, sinceMs) {
      return (await backend.attachedSince?.(tenant.name, id, sinceMs)) ?? false;
    },

    async wait(tenant, id, signal) {
      // Some backends may settle only at the end; the caller's deadline and disconnect win anyway.
      const aborted = new Promise<undefined>((resolve) => {
        if (signal.aborted) resolve(undefined);
        signal.addEventListener('abort', () => resolve(undefined), { once: true });
      });
      try {
        const result = await Promise.race([backend.wait(tenant.name, id, signal), aborted]);
        if (result === undefined && !signal.aborted) throw notFound();
        return result;
      } catch (error) {
        if (signal.aborted) return undefined;
        throw error;
      }
    },
  };
}
