import type { LimitPolicyValues } from '../contract/limit-values.js';
import type { ExecutionResult } from '../contract/outcome.js';
import type { ExecutionRequest } from '../contract/request.js';
import type { RuntimeInfo } from '../contract/runtime.js';
import { errorOf, SandpodApiError } from './api-error.js';

// The REST half of the API (GET /api/v1/openapi.json), for Node and the browser alike.

export interface ClientOptions {
  /**
   * Where the gateway is: an origin such as `http://127.0.0.1:8080`, or in a page a path of its
   * own origin such as `/`. A path prefix (`https://host/sandpod/`) is kept.
   */
  server: string;
  /** A tenant's token, sent as `Authorization: Bearer`. */
  token?: string | undefined;
  fetch?: typeof fetch;
}

export interface ExecutionAccepted {
  id: string;
  phase: 'Pending';
}

export class SandpodClient {
  readonly #base: string;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;

  constructor(options: ClientOptions) {
    this.#base = options.server.replace(/\/+$/, '');
    this.#token = options.token;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** The server's base, for the Socket.IO connection to the same place. */
  get server(): string {
    return this.#base;
  }

  get token(): string | undefined {
    return this.#token;
  }

  runtimes(): Promise<RuntimeInfo[]> {
    return this.#call('GET', '/runtimes');
  }

  /** The tenant's own limit defaults and maxima. */
  limits(): Promise<LimitPolicyValues> {
    return this.#call('GET', '/limits');
  }

  /** Admits an execution; it runs on while the caller does other things. */
  start(request: ExecutionRequest): Promise<ExecutionAccepted> {
    return this.#call('POST', '/executions', request);
  }

  /**
   * Runs to the end and answers the final result; the server holds a request only so long, so
   * past that this reads the result until it is final.
   */
  async run(request: ExecutionRequest, pollMs = 500): Promise<ExecutionResult> {
    const answer = await this.#call<ExecutionResult | ExecutionAccepted>('POST', '/executions?wait=true', request);
    return this.#untilFinal(answer, pollMs);
  }

  get(id: string): Promise<ExecutionResult> {
    return this.#call('GET', `/executions/${encodeURIComponent(id)}`);
  }

  /** Cancels and answers the result (reason `Cancelled` unless it had already ended). */
  cancel(id: string): Promise<ExecutionResult> {
    return this.#call('DELETE', `/executions/${encodeURIComponent(id)}`);
  }

  /** The OpenAPI 3.1 description of this API. */
  description(): Promise<Record<string, unknown>> {
    return this.#call('GET', '/openapi.json');
  }

  async #untilFinal(answer: ExecutionResult | ExecutionAccepted, pollMs: number): Promise<ExecutionResult> {
    let result = answer;
    while (!('finishedAt' in result) || (result.phase !== 'Succeeded' && result.phase !== 'Failed')) {
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      result = await this.get(answer.id);
    }
    return result;
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.#fetch(`${this.#base}/api/v1${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      const reason =
        error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
      throw new SandpodApiError(0, {
        code: 'unreachable',
        message: `cannot reach ${this.#base || 'the server'}: ${reason}`,
      });
    }
    if (!response.ok) throw await errorOf(response);
    return (await response.json()) as T;
  }
}
