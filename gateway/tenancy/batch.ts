import type winston from 'winston';
import { BATCH_MAX, type ExecutionResult } from '../../contract/index.js';
import { ApiError, invalid } from '../errors.js';
import { toApiError } from '../http/api-errors.js';
import type { Tenant } from './tenant.js';
import type { TenantExecutions } from './tenant-executions.js';

// Many executions in one request (CONTRACT.md "Batch and callbacks"): each is validated and
// admitted on its own, against the tenant's rate and concurrency, so a batch may be partly refused.

export const BATCH_BOUNDS = { executions: BATCH_MAX, ids: BATCH_MAX } as const;

export interface BatchItemError {
  error: { status: number; code: string; message: string; field?: string; retryAfterSeconds?: number };
}

export type BatchStartItem = { id: string } | BatchItemError;
export type BatchGetItem = ExecutionResult | { id: string; error: BatchItemError['error'] };

function itemError(error: unknown): BatchItemError['error'] {
  const apiError = toApiError(error);
  return {
    status: apiError.status,
    ...apiError.toBody().error,
    ...(apiError.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: apiError.retryAfterSeconds }),
  };
}

/** The requests of a batch body, or a 400 naming `executions`. */
export function batchRequests(body: unknown): unknown[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalid('', 'the request body must be a JSON object { executions: [...] }');
  }
  const { executions, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw invalid(unknown, `unknown field ${unknown}`);
  if (!Array.isArray(executions) || executions.length < 1 || executions.length > BATCH_BOUNDS.executions) {
    throw invalid('executions', `executions must be a list of 1 to ${BATCH_BOUNDS.executions} execution requests`);
  }
  return executions;
}

/** Starts each request in order; a refusal becomes that item's error, never the batch's. */
export async function startBatch(
  executions: TenantExecutions,
  tenant: Tenant,
  requests: unknown[],
  log: winston.Logger,
): Promise<BatchStartItem[]> {
  const items: BatchStartItem[] = [];
  for (const request of requests) {
    try {
      const { id } = await executions.start(tenant, request, log);
      items.push({ id });
    } catch (error) {
      items.push({ error: itemError(error) });
    }
  }
  return items;
}

/** The ids of `?ids=a,b,c`, or a 400 naming `ids`. */
export function batchIds(query: unknown): string[] {
  if (typeof query !== 'string') throw invalid('ids', 'give the executions as ?ids=a,b,c');
  const ids = query.split(',').filter((id) => id !== '');
  if (ids.length < 1 || ids.length > BATCH_BOUNDS.ids) {
    throw invalid('ids', `ids must name 1 to ${BATCH_BOUNDS.ids} executions`);
  }
  return ids;
}

export async function getBatch(executions: TenantExecutions, tenant: Tenant, ids: string[]): Promise<BatchGetItem[]> {
  return Promise.all(
    ids.map(async (id): Promise<BatchGetItem> => {
      try {
        return await executions.get(tenant, id);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        return { id, error: itemError(error) };
      }
    }),
  );
}
