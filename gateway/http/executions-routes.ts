import { type Request, type Response, Router } from 'express';
import { isTerminal } from '../../contract/index.js';
import { ApiError } from '../errors.js';
import { batchIds, batchRequests, getBatch, startBatch } from '../tenancy/batch.js';
import type { Tenant } from '../tenancy/tenant.js';
import type { TenantConnections } from '../tenancy/tenant-connections.js';
import type { TenantExecutions } from '../tenancy/tenant-executions.js';
import { requestLog, tenantOf } from './request-context.js';

export interface ExecutionsRoutesOptions {
  executions: TenantExecutions;
  /** Counts answers that carry a result against the tenant's `maxStreams`. */
  connections: TenantConnections;
  /** Longest a `?wait=true` request is held open. */
  maxWaitMs: number;
  /** Longest DELETE waits for the cancelled execution to end. */
  cancelWaitMs: number;
}

const wantsWait = (value: unknown) => value === 'true' || value === '1';

/** A signal that fires after `ms` or when the client goes away, whichever comes first. */
function responseDeadline(res: Response, ms: number): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('deadline')), ms);
  const onClose = () => {
    if (!res.writableEnded) controller.abort(new Error('client went away'));
  };
  res.on('close', onClose);
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      res.off('close', onClose);
    },
  };
}

/** Answers with the final result if it comes in time, else 202 with the result so far. */
async function answerWhenDone(
  executions: TenantExecutions,
  tenant: Tenant,
  id: string,
  res: Response,
  ms: number,
): Promise<void> {
  const deadline = responseDeadline(res, ms);
  try {
    const result = await executions.wait(tenant, id, deadline.signal);
    if (res.destroyed) return;
    if (result && isTerminal(result.phase)) {
      res.status(200).json(result);
      return;
    }
    res.status(202).json(await executions.get(tenant, id));
  } finally {
    deadline.clear();
  }
}

function requireJson(req: Request): void {
  if (!req.is('application/json')) {
    throw new ApiError(415, 'unsupported_media_type', 'send the request body as Content-Type: application/json');
  }
}

/**
 * Counts this answer as one of the tenant's streams until it is sent or the client goes: a result
 * can be megabytes of JSON that a slow client leaves in the gateway's buffers. Throws a 429 first.
 */
function holdStream(connections: TenantConnections, tenant: Tenant, res: Response): void {
  res.once('close', connections.openStream(tenant));
}

function idParam(req: Request): string {
  const id = req.params.id;
  if (typeof id !== 'string' || id === '') throw new ApiError(404, 'not_found', 'no such execution');
  return id;
}

export function executionsRoutes(options: ExecutionsRoutesOptions): Router {
  const { executions, connections } = options;
  const router = Router();

  router.get('/runtimes', async (_req, res) => {
    res.json(await executions.runtimes());
  });

  // The caller's own defaults and maxima, so that clients can offer exactly what will be accepted.
  router.get('/limits', (_req, res) => {
    const { defaults, maxima } = tenantOf(res).limits;
    res.json({ defaults, maxima });
  });

  router.post('/executions/batch', async (req, res) => {
    requireJson(req);
    const requests = batchRequests(req.body);
    res.status(202).json({ items: await startBatch(executions, tenantOf(res), requests, requestLog(res)) });
  });

  router.get('/executions', async (req, res) => {
    const tenant = tenantOf(res);
    const ids = batchIds(req.query.ids);
    holdStream(connections, tenant, res);
    res.json({ items: await getBatch(executions, tenant, ids) });
  });

  router.post('/executions', async (req, res) => {
    requireJson(req);
    const tenant = tenantOf(res);
    const wait = wantsWait(req.query.wait);
    if (wait) holdStream(connections, tenant, res);
    const { id } = await executions.start(tenant, req.body, requestLog(res));
    res.location(`${req.baseUrl}/executions/${encodeURIComponent(id)}`);
    if (!wait) {
      res.status(202).json({ id, phase: 'Pending' });
      return;
    }
    await answerWhenDone(executions, tenant, id, res, options.maxWaitMs);
  });

  router.get('/executions/:id', async (req, res) => {
    const tenant = tenantOf(res);
    holdStream(connections, tenant, res);
    res.json(await executions.get(tenant, idParam(req)));
  });

  router.delete('/executions/:id', async (req, res) => {
    const tenant = tenantOf(res);
    const id = idParam(req);
    holdStream(connections, tenant, res);
    await executions.cancel(tenant, id, requestLog(res));
    await answerWhenDone(executions, tenant, id, res, options.cancelWaitMs);
  });

  return router;
}
