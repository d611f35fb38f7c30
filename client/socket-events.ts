import type { ExecutionResult, Phase, Stream } from '../contract/outcome.js';
import type { ExecutionRequest } from '../contract/request.js';

// The Socket.IO events of the API (GET /api/v1/openapi.json describes them too), typed for
// socket.io-client.

export interface ApiErrorBody {
  code: string;
  message: string;
  /** JSON path of the field at fault, on `invalid`. */
  field?: string;
}

export type RunAck = { id: string } | { error: ApiErrorBody };
export type CommandAck = { error?: ApiErrorBody } | undefined;

export interface OutputEvent {
  id: string;
  stream: Stream;
  data: string;
}

export interface StatusEvent {
  id: string;
  phase: Phase;
}

/**
 * The final result. Its output came as `output` events already, so stdout and stderr are empty
 * when `outputStreamed` is true; `SandpodClient.get` reads them whole.
 */
export type ExitEvent = ExecutionResult & { outputStreamed?: true };

export interface ServerToClientEvents {
  output: (event: OutputEvent) => void;
  status: (event: StatusEvent) => void;
  exit: (event: ExitEvent) => void;
}

export interface ClientToServerEvents {
  run: (request: ExecutionRequest, ack: (reply: RunAck) => void) => void;
  attach: (request: { id: string }, ack: (reply: RunAck) => void) => void;
  stdin: (event: { id: string; data: string }, ack: (reply: CommandAck) => void) => void;
  'stdin:end': (event: { id: string }, ack: (reply: CommandAck) => void) => void;
  cancel: (event: { id: string }, ack: (reply: CommandAck) => void) => void;
}
