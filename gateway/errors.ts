/** The one error type the gateway's edges translate into an HTTP status or a Socket.IO ack. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    /** Seconds a client should wait before trying again (429, 503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toBody(): { error: { code: string; message: string; field?: string } } {
    return {
      error: { code: this.code, message: this.message, ...(this.field === undefined ? {} : { field: this.field }) },
    };
  }
}

export const invalid = (field: string, message: string) => new ApiError(400, 'invalid', message, field);
export const notFound = (what = 'execution') => new ApiError(404, 'not_found', `no such ${what}`);
export const atCapacity = (retryAfterSeconds: number) =>
  new ApiError(503, 'at_capacity', 'the service is at capacity; try again later', undefined, retryAfterSeconds);
export const tooMany = (message: string, retryAfterSeconds: number) =>
  new ApiError(429, 'too_many_requests', message, undefined, retryAfterSeconds);
