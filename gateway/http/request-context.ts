import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type winston from 'winston';
import type { GatewayMetrics } from '../metrics.js';
import type { Tenant } from '../tenancy/tenant.js';

// Per-request values live in res.locals; these accessors keep their types in one place.

export function requestLog(res: Response): winston.Logger {
  return res.locals.log as winston.Logger;
}

export function tenantOf(res: Response): Tenant {
  return res.locals.tenant as Tenant;
}

export function setTenant(res: Response, tenant: Tenant): void {
  res.locals.tenant = tenant;
}

/** The matched route as a bounded label, never the raw path (ids would explode the series). */
function routeLabel(req: Request): string {
  const route = req.route as { path?: unknown } | undefined;
  return typeof route?.path === 'string' ? `${req.baseUrl}${route.path}` : 'unmatched';
}

/** Gives each request an id and a child logger, and counts it when the response is done. */
export function requestContext(log: winston.Logger, metrics: GatewayMetrics): RequestHandler {
  return (req, res, next) => {
    const requestId = randomUUID();
    const startedAt = performance.now();
    res.locals.log = log.child({ requestId });
    res.set('X-Request-Id', requestId);
    res.on('finish', () => {
      metrics.httpRequests.inc({ method: req.method, route: routeLabel(req), status: String(res.statusCode) });
      requestLog(res).debug('Served request', {
        method: req.method,
        path: req.path,
        status: res.statusCode,
        durationMs: Math.round(performance.now() - startedAt),
      });
    });
    next();
  };
}
