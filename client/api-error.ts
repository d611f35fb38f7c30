import type { ApiErrorBody } from './socket-events.js';

/** An answer of the gateway other than success: its HTTP status and the contract's error body. */
export class SandpodApiError extends Error {
  override name = 'SandpodApiError';
  readonly code: string;
  readonly field: string | undefined;

  constructor(
    /** HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    body: ApiErrorBody,
    /** Seconds the server asked to wait (429, 503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(body.message);
    this.code = body.code;
    this.field = body.field;
  }
}

/** The contract's `{ error }`, or the status line when the body is something else (a proxy's page). */
export async function errorOf(response: Response): Promise<SandpodApiError> {
  const text = await response.text();
  const retryAfter = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
  let body: ApiErrorBody = { code: 'http_error', message: `${response.status} ${response.statusText}`.trim() };
  try {
    const parsed = JSON.parse(text) as { error?: Partial<ApiErrorBody> };
    if (typeof parsed.error?.message === 'string') {
      body = { code: String(parsed.error.code ?? 'http_error'), message: parsed.error.message };
      if (typeof parsed.error.field === 'string') body.field = parsed.error.field;
    }
  } catch {
    // Not JSON: the status line is all there is to tell.
  }
  return new SandpodApiError(response.status, body, Number.isNaN(retryAfter) ? undefined : retryAfter);
}
