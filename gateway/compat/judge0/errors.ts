import type { ErrorRequestHandler } from 'express';
import type winston from 'winston';
import { errorHandlerAnswering } from '../../http/api-errors.js';

/** sandpod's names of request fields, in Judge0's words, for errors found past the adapter. */
const JUDGE0_FIELDS: Readonly<Record<string, string>> = {
  runtime: 'language_id',
  source: 'source_code',
  files: 'additional_files',
  stdin: 'stdin',
  expectedOutput: 'expected_output',
  args: 'command_line_arguments',
  callbackUrl: 'callback_url',
  'limits.cpuTimeMs': 'cpu_time_limit',
  'limits.wallTimeMs': 'wall_time_limit',
  'limits.memoryMiB': 'memory_limit',
  'limits.pids': 'max_processes_and_or_threads',
  'limits.outputBytes': 'max_file_size',
};

export function judge0Field(field: string): string {
  const top = field.replace(/\[.*$/, '');
  return JUDGE0_FIELDS[field] ?? JUDGE0_FIELDS[top] ?? field;
}

/**
 * Errors as Judge0 answers them: a refused attribute is 422 `{attribute: [message]}` (Rails'
 * validation errors), anything else `{error: message}` with its HTTP status.
 */
export const judge0ErrorHandler = (log: winston.Logger): ErrorRequestHandler =>
  errorHandlerAnswering(log, (apiError, res) => {
    if (apiError.field !== undefined && (apiError.status === 400 || apiError.status === 422)) {
      res.status(422).json({ [judge0Field(apiError.field)]: [apiError.message] });
      return;
    }
    res.status(apiError.status).json({ error: apiError.message });
  });
