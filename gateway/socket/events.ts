import type { ExecutionResult, Phase, Stream } from '../../contract/index.js';
import type { Tenant } from '../tenancy/tenant.js';

export type AckBody = { id: string } | { error: { code: string; message: string; field?: string } };
export type Ack = (body: AckBody) => void;

/**
 * Client events take one payload and an ack. Payloads are untrusted: handlers receive `unknown`
 * and validate before use.
 */
export interface ClientToServerEvents {
  run: (payload: unknown, ack?: Ack) => void;
  attach: (payload: unknown, ack?: Ack) => void;
  stdin: (payload: unknown, ack?: Ack) => void;
  'stdin:end': (payload: unknown, ack?: Ack) => void;
  cancel: (payload: unknown, ack?: Ack) => void;
}

export interface ServerToClientEvents {
  output: (event: { id: string; stream: Stream; data: string }) => void;
  status: (event: { id: string; phase: Phase }) => void;
  /**
   * The result, with `stdout` and `stderr` empty: the socket has sent them in `output` events
   * already (`outputStreamed: true`); GET /api/v1/executions/:id answers with them.
   */
  exit: (event: ExecutionResult & { outputStreamed: true }) => void;
}

// biome-ignore lint/complexity/noBannedTypes: socket.io's slot for server-to-server events, unused here
export type InterServerEvents = {};

export interface SocketData {
  tenant: Tenant;
}
