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
    args: z
      .array(
        z
          .string()
          .max(REQUEST_BOUNDS.argLength)
          .refine((arg) => !arg.includes('\0'), 'must not contain NUL'),
      )
      .max(REQUEST_BOUNDS.args)
      .optional(),
    limits: requestedLimitsSchema.optional(),
    interactive: z.boolean().optional(),
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
