import { constants } from 'node:os';
import type { ExecutionResult } from '../contract/outcome.js';

// What `sandpod run` exits with. A program's own status passes through; every other outcome has
// a code of its own, apart from the ones programs and shells commonly use, so that scripts can
// tell "the program said 1" from "it never ran". README.md ("Tools") has the same table.

export const EXIT = {
  usage: 64,
  refused: 65,
  unavailable: 69,
  systemError: 70,
  unauthorized: 77,
  compileError: 80,
  timeLimit: 81,
  memoryLimit: 82,
  outputLimit: 83,
  wrongAnswer: 84,
  cancelled: 130,
} as const;

/** Each reason that is not the program's own exit; `Signaled` is 128 + the signal's number. */
const BY_REASON: Record<string, number> = {
  CompileError: EXIT.compileError,
  TimeLimitExceeded: EXIT.timeLimit,
  MemoryLimitExceeded: EXIT.memoryLimit,
  OutputLimitExceeded: EXIT.outputLimit,
  WrongAnswer: EXIT.wrongAnswer,
  Cancelled: EXIT.cancelled,
  SystemError: EXIT.systemError,
};

export function exitCodeFor(result: ExecutionResult): number {
  const reason: string | null = result.reason;
  if (reason === 'Completed' || reason === 'Accepted') return 0;
  if (reason === 'NonZeroExit') return result.exitCode ?? 1;
  if (reason === 'Signaled') {
    const number = result.signal ? constants.signals[result.signal as NodeJS.Signals] : undefined;
    return number === undefined ? EXIT.systemError : 128 + number;
  }
  return (reason === null ? undefined : BY_REASON[reason]) ?? EXIT.systemError;
}

const BY_ERROR_CODE: Record<string, number> = {
  unauthorized: EXIT.unauthorized,
  refused: EXIT.unauthorized,
  unreachable: EXIT.unavailable,
  too_many_requests: EXIT.unavailable,
  at_capacity: EXIT.unavailable,
  backend_unavailable: EXIT.unavailable,
  shutting_down: EXIT.unavailable,
  timeout: EXIT.unavailable,
  lost: EXIT.unavailable,
  disconnected: EXIT.unavailable,
  invalid: EXIT.refused,
  not_found: EXIT.refused,
  unsupported_media_type: EXIT.refused,
  interrupted: EXIT.cancelled,
};

/** An error of the API by its code (REST or a Socket.IO ack), else its HTTP status. */
export function exitCodeForError(code: string, status: number): number {
  const byCode = BY_ERROR_CODE[code];
  if (byCode !== undefined) return byCode;
  if (status === 401) return EXIT.unauthorized;
  if (status === 0 || status === 429 || status === 503) return EXIT.unavailable;
  if (status >= 400 && status < 500) return EXIT.refused;
  return EXIT.systemError;
}
