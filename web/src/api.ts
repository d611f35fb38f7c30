import type { LimitPolicyValues } from '../../contract/limit-values.js';
import type { RuntimeInfo } from '../../contract/runtime.js';
import type { ApiErrorBody } from './protocol.js';

// The REST calls the page makes. Running goes over Socket.IO (runClient.ts).

export class HttpError extends Error {
  override name = 'HttpError';

  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function fetchRuntimes(basePath: string, token: string | undefined): Promise<RuntimeInfo[]> {
  const response = await fetch(`${basePath}api/v1/runtimes`, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  if (!response.ok) throw new HttpError(response.status, await errorMessageOf(response));
  return (await response.json()) as RuntimeInfo[];
}

/** The tenant's own limit defaults and maxima. */
export async function fetchLimits(basePath: string, token: string | undefined): Promise<LimitPolicyValues> {
  const response = await fetch(`${basePath}api/v1/limits`, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  if (!response.ok) throw new HttpError(response.status, await errorMessageOf(response));
  return (await response.json()) as LimitPolicyValues;
}

/** The contract's `{ error: { message } }`, or the status line when the body is something else. */
async function errorMessageOf(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error?: ApiErrorBody };
    if (body.error?.message) return `${response.status}: ${body.error.message}`;
  } catch {
    // Not JSON (a proxy's error page, say): the status line is all there is to show.
  }
  return `${response.status} ${response.statusText}`;
}
