import { z } from 'zod';
import { requestedLimitsSchema } from './limits.js';
import {
  type CompileOutcome,
  type ExecutionOutcome,
  PHASES,
  REASONS,
  type TestOutcome,
  type Usage,
} from './outcome.js';
import { executionRequestSchema, FILE_NAME_PATTERN, REQUEST_BOUNDS } from './request.js';

// The Kubernetes API of sandpod (CONTRACT.md "Kubernetes API"): the spec and status of an
// Execution and the spec of a Runtime. The CRDs in manifests/crds are generated from these
// schemas by operator/crd/generate.ts, so the API server and the gateway check the same shapes.

export const API_GROUP = 'sandpod.dev';
export const API_VERSION = 'v1alpha1';
export const EXECUTION_KIND = 'Execution';
export const RUNTIME_KIND = 'Runtime';
export const WARM_POOL_KIND = 'WarmPool';

/** Bounds of what the operator writes into status; an object must stay far below etcd's 1.5 MiB. */
export const STATUS_BOUNDS = {
  /** Characters of stdout, and separately of stderr, kept in status; the rest is cut (`truncated`). */
  outputChars: 128 * 1024,
  compileOutputChars: 64 * 1024,
  messageChars: 4096,
  conditions: 8,
  /**
   * Characters of each test's stdout, and separately of its stderr, kept in status: 100 tests
   * hold at most about 200 KiB of output there, beside the top-level output.
   */
  testOutputChars: 1024,
  testMessageChars: 512,
} as const;

/** A status message cut to the length the schema allows. */
export function boundedMessage(message: string): string {
  const max = STATUS_BOUNDS.messageChars;
  return message.length <= max ? message : `${message.slice(0, max - 3)}...`;
}

/** Bounds of a Runtime object. */
export const RUNTIME_BOUNDS = {
  imageLength: 512,
  argv: 64,
  argLength: 4096,
  aliases: 16,
  versionLength: 64,
} as const;

export const executionSpecSchema = executionRequestSchema.safeExtend({
  /** Seconds a finished Execution is kept before the operator deletes it; unset keeps it. */
  ttlSecondsAfterFinished: z.int().min(0).max(31_536_000).optional(),
  /** Set to true to stop the execution (`Cancelled`); cannot be set back to false. */
  cancel: z.boolean().optional(),
});
export type ExecutionSpec = z.infer<typeof executionSpecSchema>;

const timestamp = z.iso.datetime({ offset: true });

export const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;

/** The shape of metav1.Condition. */
export const conditionSchema = z.strictObject({
  type: z
    .string()
    .max(316)
    .regex(
      /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/,
    ),
  status: z.enum(CONDITION_STATUSES),
  observedGeneration: z.int().min(0).optional(),
  lastTransitionTime: timestamp,
  reason: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/),
  message: z.string().max(32_768),
});
export type Condition = z.infer<typeof conditionSchema>;

const usageSchema = z.strictObject({
  cpuTimeMs: z.int().min(0),
  wallTimeMs: z.int().min(0),
  memoryPeakMiB: z.number().min(0),
});

const compileOutcomeSchema = z.strictObject({
  exitCode: z.int().nullable(),
  durationMs: z.int().min(0),
  output: z.string().max(STATUS_BOUNDS.compileOutputChars),
  usage: usageSchema.optional(),
});

const testOutcomeSchema = z.strictObject({
  name: z.string().max(REQUEST_BOUNDS.testNameLength),
  reason: z.enum(REASONS),
  exitCode: z.int().nullable(),
  signal: z.string().max(16).nullable(),
  message: z.string().max(STATUS_BOUNDS.testMessageChars),
  stdout: z.string().max(STATUS_BOUNDS.testOutputChars),
  stderr: z.string().max(STATUS_BOUNDS.testOutputChars),
  truncated: z.boolean(),
  usage: usageSchema.nullable(),
});

const testSummarySchema = z.strictObject({
  passed: z.int().min(0),
  failed: z.int().min(0),
  skipped: z.int().min(0),
  total: z.int().min(0),
});

export const executionStatusSchema = z.strictObject({
  phase: z.enum(PHASES),
  reason: z.enum(REASONS).nullable(),
  exitCode: z.int().nullable(),
  signal: z.string().max(16).nullable(),
  message: z.string().max(STATUS_BOUNDS.messageChars),
  startedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
  durationMs: z.int().min(0).nullable(),
  /** durationMs for people, such as `1.25s`; what `kubectl get ex` shows as DURATION. */
  duration: z.string().max(32).nullable(),
  compile: compileOutcomeSchema.optional(),
  stdout: z.string().max(STATUS_BOUNDS.outputChars),
  stderr: z.string().max(STATUS_BOUNDS.outputChars),
  truncated: z.boolean(),
  usage: usageSchema.nullable().optional(),
  tests: z.array(testOutcomeSchema).max(REQUEST_BOUNDS.tests).optional(),
  summary: testSummarySchema.optional(),
  /** `passed/total` of a judged execution; what `kubectl get ex` shows as TESTS. */
  testsPassed: z.string().max(16).optional(),
  podName: z.string().max(253).nullable(),
  /** Served by a ready pod of a WarmPool rather than a pod made for it. */
  warm: z.boolean().optional(),
  /**
   * The run container's stdin is shared by every attach and stays open when one ends: live input
   * goes to the launcher as records, and only an end record ends it (sandbox/launcher/bundle.ts,
   * encodeLiveStdin). Absent on pods of an operator before this field, which end the program's
   * input when the first attach ends.
   */
  stdinRecords: z.boolean().optional(),
  observedGeneration: z.int().min(0),
  conditions: z.array(conditionSchema).max(STATUS_BOUNDS.conditions),
});
export type ExecutionStatus = z.infer<typeof executionStatusSchema>;

// The status is the outcome model minus createdAt (that is metadata.creationTimestamp). These lines
// fail to compile if the two drift apart.
type OutcomeInStatus = Omit<ExecutionOutcome, 'createdAt'>;
const _statusCarriesOutcome = (status: ExecutionStatus): OutcomeInStatus => status;
const _outcomeFitsStatus = (
  outcome: OutcomeInStatus,
): Omit<ExecutionStatus, 'duration' | 'podName' | 'observedGeneration' | 'conditions' | 'testsPassed'> => outcome;
const _compileMatches = (compile: CompileOutcome): z.infer<typeof compileOutcomeSchema> => compile;
const _testMatches = (test: TestOutcome): z.infer<typeof testOutcomeSchema> => test;
const _usageMatches = (usage: Usage): z.infer<typeof usageSchema> => usage;

const argvSchema = z.array(z.string().max(RUNTIME_BOUNDS.argLength)).min(1).max(RUNTIME_BOUNDS.argv);

export const runtimeSpecSchema = z.strictObject({
  image: z.string().min(1).max(RUNTIME_BOUNDS.imageLength),
  /** Name of the file a single `source` is written to, such as `main.c`. */
  fileName: z.string().min(1).max(REQUEST_BOUNDS.fileNameLength).regex(new RegExp(FILE_NAME_PATTERN)),
  /** Compiler argv, run in the working directory holding the files; absent for interpreted languages. */
  compile: argvSchema.optional(),
  /** Program argv; the request's `args` are appended. */
  run: argvSchema,
  version: z.string().min(1).max(RUNTIME_BOUNDS.versionLength),
  aliases: z.array(z.string().min(1).max(REQUEST_BOUNDS.runtimeNameLength)).max(RUNTIME_BOUNDS.aliases).optional(),
  /** Defaults and maxima of this language; a limit left out falls back to the operator's policy. */
  limits: z
    .strictObject({
      defaults: requestedLimitsSchema.optional(),
      maxima: requestedLimitsSchema.optional(),
    })
    .optional(),
  /** Limits of the compile step; a limit left out falls back to the operator's compile policy. */
  compileLimits: requestedLimitsSchema.optional(),
});
export type RuntimeSpec = z.infer<typeof runtimeSpecSchema>;

/** Bounds of a WarmPool. */
export const WARM_POOL_BOUNDS = { replicas: 1000 } as const;

export const warmPoolSpecSchema = z.strictObject({
  /** Name or alias of a Runtime: the image and argv of the pool's pods. */
  runtime: z.string().min(1).max(REQUEST_BOUNDS.runtimeNameLength),
  /** Ready pods the operator keeps; the scale subresource writes it (kubectl scale, HPA). */
  replicas: z.int().min(0).max(WARM_POOL_BOUNDS.replicas),
  /**
   * The size of the pool's pods; a limit left out takes the Runtime's default. An Execution of the
   * runtime is served from the pool when each of its limits is at most this and its diskMiB is this.
   */
  limits: requestedLimitsSchema.optional(),
});
export type WarmPoolSpec = z.infer<typeof warmPoolSpecSchema>;

export const warmPoolStatusSchema = z.strictObject({
  /** Pods of the pool that are not claimed, ready or still starting. */
  replicas: z.int().min(0),
  /** Of those, pods whose launcher waits for a program. */
  readyReplicas: z.int().min(0),
  /** The label selector of the pool's pods, for the scale subresource (HPA). */
  selector: z.string().max(1024),
  observedGeneration: z.int().min(0),
});
export type WarmPoolStatus = z.infer<typeof warmPoolStatusSchema>;
