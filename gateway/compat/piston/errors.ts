import type { ErrorRequestHandler } from 'express';
import type winston from 'winston';
import { errorMessage } from '../../../observability/logger.js';
import { ApiError } from '../../errors.js';
import { toApiError } from '../../http/api-errors.js';

/** Piston refuses a request with 400 and a message; its errors carry nothing else. */
export const pistonRefusal = (message: string) => new ApiError(400, 'invalid', message);

/** Errors as Piston answers them: `{message}` with the HTTP status. */
export function pistonErrorHandler(log: winston.Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const apiError = toApiError(error);
    if (apiError.status >= 500 && apiError.status !== 503) {
      log.error('Failed request', { method: req.method, path: req.path, error: errorMessage(error) });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (apiError.retryAfterSeconds !== undefined) res.set('Retry-After', String(apiError.retryAfterSeconds));
    res.status(apiError.status).json({ message: apiError.message });
  };
}
