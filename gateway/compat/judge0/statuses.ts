import type { ExecutionResult } from '../../../contract/index.js';

/** Judge0's statuses, ids 1-14, as GET /statuses lists them. */
export const JUDGE0_STATUSES = [
  { id: 1, description: 'In Queue' },
  { id: 2, description: 'Processing' },
  { id: 3, description: 'Accepted' },
  { id: 4, description: 'Wrong Answer' },
  { id: 5, description: 'Time Limit Exceeded' },
  { id: 6, description: 'Compilation Error' },
  { id: 7, description: 'Runtime Error (SIGSEGV)' },
  { id: 8, description: 'Runtime Error (SIGXFSZ)' },
  { id: 9, description: 'Runtime Error (SIGFPE)' },
  { id: 10, description: 'Runtime Error (SIGABRT)' },
  { id: 11, description: 'Runtime Error (NZEC)' },
  { id: 12, description: 'Runtime Error (Other)' },
  { id: 13, description: 'Internal Error' },
  { id: 14, description: 'Exec Format Error' },
] as const;

export type Judge0Status = (typeof JUDGE0_STATUSES)[number];

const status = (id: number): Judge0Status => JUDGE0_STATUSES[id - 1] as Judge0Status;

const SIGNAL_STATUS: Readonly<Record<string, number>> = { SIGSEGV: 7, SIGXFSZ: 8, SIGFPE: 9, SIGABRT: 10 };

/**
 * The Judge0 status of a sandpod result. A run without expected output that exits cleanly is
 * Accepted, as in Judge0. Memory exhaustion has no status of its own in Judge0 (the program dies
 * of it), so it reads as Runtime Error (Other); output over the limit as SIGXFSZ, which is how
 * Judge0's file size limit ends a program.
 */
export function statusOf(result: Pick<ExecutionResult, 'phase' | 'reason' | 'signal'>): Judge0Status {
  if (result.phase === 'Pending') return status(1);
  if (result.phase === 'Running' || result.reason === null) return status(2);
  switch (result.reason) {
    case 'Completed':
    case 'Accepted':
      return status(3);
    case 'WrongAnswer':
      return status(4);
    case 'TimeLimitExceeded':
      return status(5);
    case 'CompileError':
      return status(6);
    case 'OutputLimitExceeded':
      return status(8);
    case 'Signaled':
      return status(SIGNAL_STATUS[result.signal ?? ''] ?? 12);
    case 'NonZeroExit':
      return status(11);
    case 'MemoryLimitExceeded':
      return status(12);
    case 'Cancelled':
    case 'SystemError':
    case 'Skipped':
      return status(13);
  }
}
