import type { RequestedLimits } from '../../contract/limit-values.js';
import type { ExecutionResult, Phase, Stream } from '../../contract/outcome.js';

// The Socket.IO events of CONTRACT.md, as the page uses them.

export interface ApiErrorBody {
  code: string;
  message: string;
  field?: string;
}

export interface RunRequest {
  runtime: string;
  source: string;
  limits?: RequestedLimits;
  interactive: true;
}

export type Ack = { id: string } | { error: ApiErrorBody };
export type CommandAck = { error?: ApiErrorBody } | undefined;

export interface ServerToClientEvents {
  output: (event: { id: string; stream: Stream; data: string }) => void;
  status: (event: { id: string; phase: Phase }) => void;
  exit: (event: ExecutionResult) => void;
}

export interface ClientToServerEvents {
  run: (request: RunRequest, ack: (reply: Ack) => void) => void;
  attach: (request: { id: string }, ack: (reply: Ack) => void) => void;
  stdin: (event: { id: string; data: string }, ack: (reply: CommandAck) => void) => void;
  'stdin:end': (event: { id: string }, ack: (reply: CommandAck) => void) => void;
  cancel: (event: { id: string }, ack: (reply: CommandAck) => void) => void;
}
