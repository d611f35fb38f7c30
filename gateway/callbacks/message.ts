import type { ExecutionResult } from '../../contract/index.js';
import { DEFAULT_FIELDS, submissionView } from '../compat/judge0/submission-response.js';

// What a callback sends, by the API the execution came through: sandpod's result POSTed as it is,
// or for a Judge0 submission what Judge0 itself sends (app/jobs/isolate_job.rb, call_callback): a
// PUT of the submission with its default attributes, base64-encoded.

export type CallbackFormat = 'sandpod' | 'judge0';

export interface CallbackMessage {
  method: 'POST' | 'PUT';
  body: string;
}

export function callbackMessage(result: ExecutionResult, format: CallbackFormat = 'sandpod'): CallbackMessage {
  if (format === 'judge0') return { method: 'PUT', body: JSON.stringify(submissionView(result, DEFAULT_FIELDS, true)) };
  return { method: 'POST', body: JSON.stringify(result) };
}
