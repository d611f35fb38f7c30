import type { ErrorRequestHandler } from 'express';
import type winston from 'winston';
import { ApiError } from '../../errors.js';
import { errorHandlerAnswering } from '../../http/api-errors.js';

/** Piston refuses a request with 400 and a message; its errors carry nothing else. */
export const pistonRefusal = (message: string) => new ApiError(400, 'invalid', message);

/** Errors as Piston answers them: `{message}` with the HTTP status. */
export const pistonErrorHandler = (log: winston.Logger): ErrorRequestHandler =>
  errorHandlerAnswering(log, (apiError, res) => {
    res.status(apiError.status).json({ message: apiError.message });
  });
