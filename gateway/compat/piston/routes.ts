import express, { Router } from 'express';
import type winston from 'winston';
import { ApiError, notFound } from '../../errors.js';
import { requestLog, tenantOf } from '../../http/request-context.js';
import { requireTenant } from '../../http/require-tenant.js';
import type { Authenticate } from '../../tenancy/authenticate.js';
import type { TenantConnections } from '../../tenancy/tenant-connections.js';
import type { TenantExecutions } from '../../tenancy/tenant-executions.js';
import { pistonErrorHandler } from './errors.js';
import { translateExecute } from './execute-request.js';
import { executeAnswer } from './execute-response.js';
import { pistonRuntime } from './runtimes.js';

export interface PistonRoutesOptions {
  executions: TenantExecutions;
  /** A result being waited for counts as one of the tenant's streams until it is sent. */
  connections: TenantConnections;
  authenticate: Authenticate;
  log: winston.Logger;
  bodyLimitBytes: number;
  /** Longest an execute request is held open. */
  maxWaitMs: number;
}

/** The Piston v2 API over the tenants, admission and backend of the REST API. */
export function pistonRoutes(options: PistonRoutesOptions): Router {
  const { executions } = options;
  const router = Router();
  router.use(requireTenant(options.authenticate));
  // Piston reads JSON whatever the content type says, and a popular client sends text/plain.
  router.use(express.json({ limit: options.bodyLimitBytes, strict: true, type: () => true }));

  router.get('/runtimes', async (_req, res) => {
    res.json((await executions.runtimes()).map(pistonRuntime));
  });

  router.post('/execute', async (req, res) => {
    const tenant = tenantOf(res);
    res.once('close', options.connections.openStream(tenant));
    const { request, language, version } = translateExecute(req.body, await executions.runtimes(), tenant.limits);
    const { id } = await executions.start(tenant, request, requestLog(res));
    const result = await executions.wait(tenant, id, AbortSignal.timeout(options.maxWaitMs));
    if (!result) {
      await executions.cancel(tenant, id, requestLog(res));
      throw new ApiError(504, 'timeout', `the execution outlasted the longest wait of ${options.maxWaitMs} ms`);
    }
    res.json(executeAnswer(result, language, version));
  });

  router.use(() => {
    throw notFound('route');
  });
  router.use(pistonErrorHandler(options.log));
  return router;
}
