import type { ErrorRequestHandler, Response } from 'express';
import type winston from 'winston';
import { errorMessage } from '../../observability/logger.js';
import { ApiError } from '../errors.js';

interface HttpErrorLike {
  status?: unknown;
  type?: unknown;
  limit?: unknown;
  expose?: unknown;
}

/** Translates whatever a route or middleware threw into the one error type of the gateway. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const http = (typeof error === 'object' && error !== null ? error : {}) as HttpErrorLike;
  switch (http.type) {
    case 'entity.too.large':
      return new ApiError(
        413,
        'payload_too_large',
        `the request body is larger than ${typeof http.limit === 'number' ? http.limit : 'the limit of'} bytes`,
      );
    case 'entity.parse.failed':
      return new ApiError(400, 'invalid', 'the request body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError(415, 'unsupported_media_type', errorMessage(error));
    case 'request.aborted':
    case 'request.size.invalid':
      return new ApiError(400, 'invalid', errorMessage(error));
  }
  // The router's own 400 for a path segment that is not valid percent-encoding (`/executions/%`).
  if (error instanceof URIError && http.status === 400) {
    return new ApiError(400, 'invalid', 'the request path is not valid percent-encoding', 'id');
  }
  if (typeof http.status === 'number' && http.status >= 400 && http.status < 500 && http.expose === true) {
    return new ApiError(http.status, 'bad_request', errorMessage(error));
  }
  return new ApiError(500, 'internal', 'the gateway failed to handle this request; see its logs');
}

/**
 * An express error handler that logs what the gateway failed at, ends an answer already under
 * way, sets Retry-After, and leaves the body to `answer`: one per API shape (sandpod's, Judge0's,
 * Piston's).
 */
export function errorHandlerAnswering(
  log: winston.Logger,
  answer: (apiError: ApiError, res: Response) => void,
): ErrorRequestHandler {
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
    answer(apiError, res);
  };
}

/** The central error handler: one JSON shape, Retry-After on 429 and 503. */
export function apiErrorHandler(log: winston.Logger): ErrorRequestHandler {
  return errorHandlerAnswering(log, (apiError, res) => {
    if (apiError.status === 401) res.set('WWW-Authenticate', 'Bearer');
    res.status(apiError.status).json(apiError.toBody());
  });
}
