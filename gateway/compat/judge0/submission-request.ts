import { parse as parseShellWords } from 'shell-quote';
import { z } from 'zod';
import type { LimitPolicy, RequestedLimits, RuntimeInfo } from '../../../contract/index.js';
import { ApiError, invalid } from '../../errors.js';
import { additionalFiles } from './additional-files.js';
import { runtimeForLanguageId } from './languages.js';

// A Judge0 CE submission turned into a sandpod execution request. Judge0 ignores attributes it does
// not know, and so does this; an attribute it knows that sandpod cannot honour is refused, never
// dropped, so that a client never believes it got what it did not.

const seconds = z.number().positive();
const count = z.int().positive();

/** The attributes of a Judge0 submission; null reads as absent, as in Judge0. */
const submissionSchema = z.object({
  source_code: z.string(),
  language_id: z.int(),
  stdin: z.string().nullish(),
  expected_output: z.string().nullish(),
  cpu_time_limit: seconds.nullish(),
  cpu_extra_time: z.number().nullish(),
  wall_time_limit: seconds.nullish(),
  memory_limit: z.number().positive().nullish(),
  stack_limit: z.int().nullish(),
  max_processes_and_or_threads: count.nullish(),
  enable_per_process_and_thread_time_limit: z.boolean().nullish(),
  enable_per_process_and_thread_memory_limit: z.boolean().nullish(),
  max_file_size: count.nullish(),
  command_line_arguments: z.string().nullish(),
  compiler_options: z.string().nullish(),
  redirect_stderr_to_stdout: z.boolean().nullish(),
  enable_network: z.boolean().nullish(),
  number_of_runs: count.nullish(),
  callback_url: z.string().nullish(),
  additional_files: z.string().nullish(),
});
export type Judge0Submission = z.infer<typeof submissionSchema>;

/** Runs of one submission, each a test of one sandpod execution. */
export const MAX_NUMBER_OF_RUNS = 20;

/** Attributes the adapter cannot carry out, with why; refused whenever they ask for anything. */
function refuseUnsupported(submission: Judge0Submission): void {
  const refuse = (field: string, message: string) => {
    throw invalid(field, message);
  };
  if (submission.enable_network === true) refuse('enable_network', 'programs never have a network here');
  if (submission.compiler_options) refuse('compiler_options', 'compiler options are not supported');
  if (submission.cpu_extra_time) refuse('cpu_extra_time', 'there is no extra CPU time: give a larger cpu_time_limit');
  if (submission.stack_limit !== undefined && submission.stack_limit !== null) {
    refuse('stack_limit', 'there is no separate stack limit: the stack counts against memory_limit');
  }
  if (submission.enable_per_process_and_thread_time_limit === true) {
    refuse('enable_per_process_and_thread_time_limit', 'limits apply to the whole program, never per process');
  }
  if (submission.enable_per_process_and_thread_memory_limit === true) {
    refuse('enable_per_process_and_thread_memory_limit', 'limits apply to the whole program, never per process');
  }
  if (submission.redirect_stderr_to_stdout === true) {
    refuse(
      'redirect_stderr_to_stdout',
      'not supported: stdout and stderr are captured as two separate streams, so their interleaving is not known',
    );
  }
  if ((submission.number_of_runs ?? 1) > MAX_NUMBER_OF_RUNS) {
    refuse('number_of_runs', `must be less than or equal to ${MAX_NUMBER_OF_RUNS}`);
  }
}

/** A decoded text attribute, refused when base64_encoded is set and it is no base64. */
function decoded(field: string, value: string | null | undefined, base64: boolean): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (!base64) return value;
  const compact = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw invalid(field, 'is not valid base64');
  }
  return Buffer.from(compact, 'base64').toString('utf8');
}

/**
 * A Judge0 limit in its units turned into sandpod's, refused above the tenant's maximum with
 * Judge0's own words and units.
 */
function limitsOf(submission: Judge0Submission, policy: LimitPolicy): RequestedLimits {
  const limits: RequestedLimits = {};
  const put = (
    field: keyof Judge0Submission,
    name: keyof RequestedLimits,
    toSandpod: (value: number) => number,
    fromSandpod: (value: number) => number,
  ) => {
    const value = submission[field];
    if (typeof value !== 'number') return;
    const maximum = fromSandpod(policy.maxima[name]);
    if (value > maximum) throw invalid(field, `must be less than or equal to ${maximum}`);
    limits[name] = Math.max(1, toSandpod(value));
  };
  put(
    'cpu_time_limit',
    'cpuTimeMs',
    (s) => Math.round(s * 1000),
    (ms) => ms / 1000,
  );
  put(
    'wall_time_limit',
    'wallTimeMs',
    (s) => Math.round(s * 1000),
    (ms) => ms / 1000,
  );
  put(
    'memory_limit',
    'memoryMiB',
    (kb) => Math.ceil(kb / 1024),
    (mib) => mib * 1024,
  );
  put(
    'max_processes_and_or_threads',
    'pids',
    (n) => n,
    (n) => n,
  );
  put(
    'max_file_size',
    'outputBytes',
    (kb) => kb * 1024,
    (bytes) => Math.floor(bytes / 1024),
  );
  return limits;
}

/** Judge0 passes command_line_arguments through a shell; its words become the arguments. */
function argsOf(line: string | null | undefined): string[] | undefined {
  if (!line) return undefined;
  return parseShellWords(line).map((word) => {
    if (typeof word !== 'string') throw invalid('command_line_arguments', 'only plain words and quoting are supported');
    return word;
  });
}

/**
 * One run reads stdin and is judged at the top level; several (number_of_runs) are that many
 * identical tests of one execution, each in a fresh sandbox step, as Judge0 reruns a program to
 * average its time and memory.
 */
function runsOf(runs: number, stdin: string | undefined, expectedOutput: string | undefined): Record<string, unknown> {
  const judged = expectedOutput === undefined ? {} : { expectedOutput, compare: { mode: 'trimmed' } };
  if (runs === 1) return { ...(stdin === undefined ? {} : { stdin }), ...judged };
  const test = {
    ...(stdin === undefined ? {} : { stdin }),
    ...(expectedOutput === undefined ? {} : { expectedOutput }),
  };
  return {
    tests: Array.from({ length: runs }, () => test),
    ...(expectedOutput === undefined ? {} : { compare: { mode: 'trimmed' } }),
  };
}

export interface TranslatedSubmission {
  /** The body for the same execution path as POST /api/v1/executions. */
  request: Record<string, unknown>;
  runtime: RuntimeInfo;
}

export function translateSubmission(
  body: unknown,
  options: { base64: boolean; runtimes: RuntimeInfo[]; limits: LimitPolicy },
): TranslatedSubmission {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError(400, 'invalid', 'the request body must be a JSON object');
  }
  const parsed = submissionSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? '');
    const missing = issue?.code === 'invalid_type' && (body as Record<string, unknown>)[field] === undefined;
    throw invalid(field, missing ? "can't be blank" : (issue?.message ?? 'is invalid'));
  }
  const submission = parsed.data;
  refuseUnsupported(submission);
  const runtime = runtimeForLanguageId(options.runtimes, submission.language_id);
  if (!runtime) throw invalid('language_id', `language with id ${submission.language_id} doesn't exist`);
  const stdin = decoded('stdin', submission.stdin, options.base64);
  const expectedOutput = decoded('expected_output', submission.expected_output, options.base64);
  const args = argsOf(submission.command_line_arguments);
  const source = decoded('source_code', submission.source_code, options.base64) ?? '';
  // The source is the program, under the name the runtime runs; the zip's files sit beside it.
  const program = submission.additional_files
    ? { files: [{ name: runtime.fileName, content: source }, ...additionalFiles(submission.additional_files)] }
    : { source };
  const request: Record<string, unknown> = {
    runtime: runtime.name,
    ...program,
    limits: limitsOf(submission, options.limits),
    ...runsOf(submission.number_of_runs ?? 1, stdin, expectedOutput),
    ...(args === undefined ? {} : { args }),
  };
  // Checked against the tenant's allow-list at start, as every callbackUrl; Judge0's body is sent.
  if (submission.callback_url) request.callbackUrl = submission.callback_url;
  return { request, runtime };
}
