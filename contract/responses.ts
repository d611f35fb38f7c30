import { z } from 'zod';
import { limitsSchema } from './limits.js';
import {
  type CompileOutcome,
  type ExecutionResult,
  PHASES,
  REASONS,
  STREAMS,
  type TestOutcome,
  type TestSummary,
  type Usage,
} from './outcome.js';
import type { RuntimeInfo } from './runtime.js';

// The schemas of what the gateway answers, for the API description (GET /api/v1/openapi.json) and
// for the tests that check every answer against it. The plain types in outcome.ts and runtime.ts
// stay what the code and the web page use; the checks below fail to compile when the two part.

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Same, and no optional field on one side only (which Same alone lets pass). */
type Alike<A, B> = Same<A, B> extends true ? Same<keyof A, keyof B> : false;

const timestamp = z.iso.datetime({ offset: true });

export const phaseSchema = z.enum(PHASES);
export const reasonSchema = z.enum(REASONS);
export const streamSchema = z.enum(STREAMS);

export const usageSchema = z.strictObject({
  cpuTimeMs: z.number().nonnegative(),
  wallTimeMs: z.number().nonnegative(),
  memoryPeakMiB: z.number().nonnegative(),
});
void (true satisfies Alike<z.infer<typeof usageSchema>, Usage>);

export const compileOutcomeSchema = z.strictObject({
  exitCode: z.int().nullable(),
  durationMs: z.number().nonnegative(),
  output: z.string(),
  usage: usageSchema.optional().describe('What the compile step used, measured by the sandbox'),
});
void (true satisfies Alike<z.infer<typeof compileOutcomeSchema>, CompileOutcome>);

export const testOutcomeSchema = z.strictObject({
  name: z.string().describe('The request\'s name of the test, or "test N"'),
  reason: reasonSchema,
  exitCode: z.int().nullable(),
  signal: z.string().nullable(),
  message: z.string(),
  stdout: z.string(),
  stderr: z.string(),
  truncated: z.boolean(),
  usage: usageSchema.nullable().describe('Null for a test that did not run (Skipped)'),
});
void (true satisfies Alike<z.infer<typeof testOutcomeSchema>, TestOutcome>);

export const testSummarySchema = z.strictObject({
  passed: z.int().nonnegative(),
  failed: z.int().nonnegative(),
  skipped: z.int().nonnegative(),
  total: z.int().nonnegative(),
});
void (true satisfies Alike<z.infer<typeof testSummarySchema>, TestSummary>);

export const executionResultSchema = z.strictObject({
  id: z.string(),
  runtime: z.string(),
  phase: phaseSchema.describe('Pending → Running → Succeeded | Failed; terminal phases never change'),
  reason: reasonSchema.nullable().describe('Why it ended, once terminal; only Completed has phase Succeeded'),
  exitCode: z.int().nullable().describe('Exit status of the run step'),
  signal: z.string().nullable().describe('Name of the signal that killed the program, such as SIGKILL'),
  message: z.string().describe('What happened, in words a person can act on'),
  createdAt: timestamp,
  startedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
  durationMs: z.number().nonnegative().nullable().describe('Wall time of the run step'),
  compile: compileOutcomeSchema.optional().describe('The compile step, for compiled runtimes'),
  stdout: z.string().describe('UTF-8, capped'),
  stderr: z.string().describe('UTF-8, capped'),
  truncated: z.boolean().describe('True when a cap cut the output'),
  usage: usageSchema.nullable().optional().describe('What the run step used; null until it ran'),
  tests: z.array(testOutcomeSchema).optional().describe('Each test of a judged execution, in request order'),
  summary: testSummarySchema.optional().describe('Counts of the tests by outcome'),
});
void (true satisfies Alike<z.infer<typeof executionResultSchema>, ExecutionResult>);

/** The most executions one batch starts, and the most ids one batch read names. */
export const BATCH_MAX = 100;

/** Why one item of a batch was refused: the status and error body it would have had alone. */
export const batchItemErrorSchema = z.strictObject({
  status: z.int(),
  code: z.string(),
  message: z.string(),
  field: z.string().optional(),
  retryAfterSeconds: z.number().nonnegative().optional(),
});

/** What POST /executions/batch answers: each request's id, or why it was refused, in order. */
export const batchStartedSchema = z.strictObject({
  items: z.array(z.union([z.strictObject({ id: z.string() }), z.strictObject({ error: batchItemErrorSchema })])),
});

/** What GET /executions?ids= answers: each result, or why it cannot be read, in order. */
export const batchResultsSchema = z.strictObject({
  items: z.array(z.union([executionResultSchema, z.strictObject({ id: z.string(), error: batchItemErrorSchema })])),
});

/** What POST /executions answers at once: the execution is admitted and queued. */
export const executionAcceptedSchema = z.strictObject({ id: z.string(), phase: z.literal('Pending') });

export const runtimeInfoSchema = z.strictObject({
  name: z.string(),
  version: z.string(),
  aliases: z.array(z.string()),
  compiled: z.boolean(),
  fileName: z.string().describe("Where a request's source is written; a request with files must name its program so"),
});
void (true satisfies Alike<z.infer<typeof runtimeInfoSchema>, RuntimeInfo>);

export const tenantLimitsSchema = z.strictObject({ defaults: limitsSchema, maxima: limitsSchema });

export const apiErrorSchema = z.strictObject({
  error: z.strictObject({
    code: z.string(),
    message: z.string(),
    /** JSON path of the field at fault, on 400. */
    field: z.string().optional(),
  }),
});
export type ApiErrorBody = z.infer<typeof apiErrorSchema>['error'];

// Socket.IO (CONTRACT.md): the server's events and the acks of the client's events.
export const outputEventSchema = z.strictObject({ id: z.string(), stream: streamSchema, data: z.string() });
export const statusEventSchema = z.strictObject({ id: z.string(), phase: phaseSchema });
/** The result once, last; its output came as `output` events, so stdout and stderr are empty here. */
export const exitEventSchema = executionResultSchema.safeExtend({
  outputStreamed: z
    .literal(true)
    .describe('stdout and stderr were sent as output events; GET /executions/{id} has them'),
});
export const ackSchema = z.union([z.strictObject({ id: z.string() }), apiErrorSchema]);
