import type { RequestHandler } from 'express';
import { type Authenticate, bearerToken, proxyHeaderOf } from '../tenancy/authenticate.js';
import { requestLog, setTenant } from './request-context.js';

/** Resolves the tenant of a request from its bearer token and address, or answers 401. */
export function requireTenant(authenticate: Authenticate): RequestHandler {
  return (req, res, next) => {
    const tenant = authenticate({
      token: bearerToken(req.get('authorization')),
      remoteAddress: req.socket.remoteAddress,
      host: req.get('host'),
      proxyHeader: proxyHeaderOf(req.headers),
    });
    setTenant(res, tenant);
    res.locals.log = requestLog(res).child({ tenant: tenant.name });
    next();
  };
}
