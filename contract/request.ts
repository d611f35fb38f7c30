import { z } from 'zod';
import { requestedLimitsSchema } from './limits.js';

// Bounds of a request's shape. The HTTP body limit is the outer fence; these keep one field from
// taking all of it and keep file names harmless before anything touches a disk.
export const REQUEST_BOUNDS = {
  runtimeNameLength: 64,
  sourceBytes: 512 * 1024,
  files: 32,
  fileNameLength: 100,
  stdinBytes: 1024 * 1024,
  args: 64,
  argLength: 4096,
  tests: 100,
  testNameLength: 100,
  /** stdin and expectedOutput of every test together, and a single run's expectedOutput. */
  judgingBytes: 1024 * 1024,
  callbackUrlLength: 2048,
} as const;

/**
 * A plain file name: no directories, no leading dot (so never `.` or `..`), no control characters.
 * The same pattern guards the CRD schema.
 */
export const FILE_NAME_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.+-]*$';
const fileNameRegex = new RegExp(FILE_NAME_PATTERN);

const utf8Length = (text: string) => Buffer.byteLength(text, 'utf8');

export const sourceFileSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(REQUEST_BOUNDS.fileNameLength)
    .regex(fileNameRegex, 'must be a plain file name: letters, digits, _ . + -, not starting with a dot'),
  content: z.string().refine((content) => utf8Length(content) <= REQUEST_BOUNDS.sourceBytes, {
    message: `must be at most ${REQUEST_BOUNDS.sourceBytes} bytes`,
  }),
});
export type SourceFile = z.infer<typeof sourceFileSchema>;

const argsSchema = z
  .array(
    z
      .string()
      .max(REQUEST_BOUNDS.argLength)
      .refine((arg) => !arg.includes('\0'), 'must not contain NUL'),
  )
  .max(REQUEST_BOUNDS.args);

const boundedText = (bytes: number) =>
  z.string().refine((text) => utf8Length(text) <= bytes, { message: `must be at most ${bytes} bytes` });

export const testCaseSchema = z.strictObject({
  name: z.string().min(1).max(REQUEST_BOUNDS.testNameLength).optional(),
  stdin: boundedText(REQUEST_BOUNDS.judgingBytes).optional(),
  args: argsSchema.optional(),
  expectedOutput: boundedText(REQUEST_BOUNDS.judgingBytes).optional(),
});
export type TestCase = z.infer<typeof testCaseSchema>;

export const COMPARE_MODES = ['exact', 'trimmed', 'tokens', 'float'] as const;
export type CompareMode = (typeof COMPARE_MODES)[number];
export const DEFAULT_FLOAT_EPSILON = 1e-6;

export const compareSchema = z.strictObject({
  mode: z.enum(COMPARE_MODES),
  /** Float mode: numbers within epsilon, absolute or relative, are equal. */
  epsilon: z.number().min(0).max(1).optional(),
});
export type Compare = z.infer<typeof compareSchema>;

export const executionRequestSchema = z
  .strictObject({
    runtime: z.string().min(1).max(REQUEST_BOUNDS.runtimeNameLength),
    source: z
      .string()
      .refine((source) => utf8Length(source) <= REQUEST_BOUNDS.sourceBytes, {
        message: `must be at most ${REQUEST_BOUNDS.sourceBytes} bytes`,
      })
      .optional(),
    files: z.array(sourceFileSchema).min(1).max(REQUEST_BOUNDS.files).optional(),
    stdin: z
      .string()
      .refine((stdin) => utf8Length(stdin) <= REQUEST_BOUNDS.stdinBytes, {
        message: `must be at most ${REQUEST_BOUNDS.stdinBytes} bytes`,
      })
      .optional(),
    args: argsSchema.optional(),
    limits: requestedLimitsSchema.optional(),
    interactive: z.boolean().optional(),
    expectedOutput: boundedText(REQUEST_BOUNDS.judgingBytes).optional(),
    tests: z.array(testCaseSchema).min(1).max(REQUEST_BOUNDS.tests).optional(),
    compare: compareSchema.optional(),
    stopOnFirstFailure: z.boolean().optional(),
    callbackUrl: z
      .url({ protocol: /^https?$/ })
      .max(REQUEST_BOUNDS.callbackUrlLength)
      .optional(),
  })
  .superRefine((request, ctx) => {
    if ((request.source === undefined) === (request.files === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['source'], message: 'give exactly one of source or files' });
    }
    if (request.files) {
      const seen = new Set<string>();
      request.files.forEach((file, index) => {
        if (seen.has(file.name)) {
          ctx.addIssue({ code: 'custom', path: ['files', index, 'name'], message: `duplicate file name ${file.name}` });
        }
        seen.add(file.name);
      });
    }
    if (request.tests) {
      // Each test brings its own input and answer; a top-level one would be ambiguous.
      for (const field of ['stdin', 'expectedOutput', 'interactive'] as const) {
        if (request[field] !== undefined && request[field] !== false) {
          ctx.addIssue({ code: 'custom', path: [field], message: `${field} cannot be given together with tests` });
        }
      }
      const judgingBytes = request.tests.reduce(
        (total, test) => total + utf8Length(test.stdin ?? '') + utf8Length(test.expectedOutput ?? ''),
        0,
      );
      if (judgingBytes > REQUEST_BOUNDS.judgingBytes) {
        ctx.addIssue({
          code: 'custom',
          path: ['tests'],
          message: `stdin and expectedOutput of all tests together must be at most ${REQUEST_BOUNDS.judgingBytes} bytes`,
        });
      }
    }
  });
export type ExecutionRequest = z.infer<typeof executionRequestSchema>;

export interface FieldError {
  /** JSON path of the offending field, such as `files[0].name` or `limits.memoryMiB`. */
  field: string;
  message: string;
}

export function jsonPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => {
    if (typeof key === 'number') return `${text}[${key}]`;
    return text === '' ? String(key) : `${text}.${String(key)}`;
  }, '');
}

/** The first problem of a zod failure, named by its JSON path. */
export function firstFieldError(error: z.ZodError): FieldError {
  const issue = error.issues[0];
  if (!issue) return { field: '', message: 'invalid request' };
  if (issue.code === 'unrecognized_keys') {
    const field = jsonPath([...issue.path, issue.keys[0] ?? '']);
    return { field, message: `unknown field ${field}` };
  }
  const field = jsonPath(issue.path);
  return { field, message: field === '' ? issue.message : `${field}: ${issue.message}` };
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: FieldError };

export function parseExecutionRequest(body: unknown): ParseResult<ExecutionRequest> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, error: { field: '', message: 'the request body must be a JSON object' } };
  }
  const parsed = executionRequestSchema.safeParse(body);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: firstFieldError(parsed.error) };
}
