import { executionSpecSchema } from '../contract/crd.js';
import {
  firstFieldError,
  type Limits,
  type RequestedLimits,
  resolveLimits,
  type SourceFile,
} from '../contract/index.js';
import type { Execution, Runtime } from '../contract/objects.js';
import type { Policy } from './config.js';

// What an Execution asks for, checked and completed against its Runtime and the operator's policy.
// A failed check is permanent: the same spec and Runtime fail the same way on every pass.

/** A Secret holds at most 1 MiB of data; source files and stdin travel in one. */
export const SECRET_DATA_BYTES = 1024 * 1024;

export interface ExecutionPlan {
  limits: Limits;
  /** Set for compiled runtimes only. */
  compileLimits?: Limits;
  files: SourceFile[];
  /** Absent when the program gets no stdin (or, when interactive, a live one). */
  stdin?: string;
  compileArgv?: string[];
  runArgv: string[];
  interactive: boolean;
  /** The tests' inputs, when the program runs once per test (their expected outputs stay in the spec). */
  tests?: { stdin?: string; args?: string[] }[];
  /** With tests: the launcher runs none after the first that did not end cleanly. */
  stopOnFirstFailure?: boolean;
}

export type PlanResult = { ok: true; plan: ExecutionPlan } | { ok: false; message: string };

export function planExecution(execution: Execution, runtime: Runtime, policy: Policy): PlanResult {
  const parsed = executionSpecSchema.safeParse(execution.spec);
  if (!parsed.success) {
    const { message } = firstFieldError(parsed.error);
    return { ok: false, message: `spec is invalid: ${message}` };
  }
  const spec = parsed.data;
  // The same combination as the gateway's: the Runtime's own limits within the operator's policy.
  const resolved = resolveLimits(spec.limits, policy.limits, {
    name: runtime.metadata.name,
    limits: runtime.spec.limits,
  });
  if ('violation' in resolved) {
    return { ok: false, message: `spec.${resolved.violation.field}: ${resolved.violation.message}` };
  }
  const files = spec.files ?? [{ name: runtime.spec.fileName, content: spec.source ?? '' }];
  const interactive = spec.interactive === true;
  const stdin = interactive ? undefined : spec.stdin;
  // A test's args replace the spec's, as in embedded mode; the launcher appends them.
  const tests = spec.tests?.map((test) => {
    const args = test.args ?? spec.args;
    return { ...(test.stdin !== undefined ? { stdin: test.stdin } : {}), ...(args !== undefined ? { args } : {}) };
  });
  const testInputs = (tests ?? []).flatMap((test) => [test.stdin ?? '', ...(test.args ?? [])]);
  const payloadBytes = [...files.map((file) => file.content), stdin ?? '', ...testInputs].reduce(
    (total, text) => total + Buffer.byteLength(text, 'utf8'),
    0,
  );
  if (payloadBytes > SECRET_DATA_BYTES) {
    return {
      ok: false,
      message: `source files, stdin and test inputs take ${payloadBytes} bytes; a pod can receive at most ${SECRET_DATA_BYTES}`,
    };
  }
  const compiled = runtime.spec.compile !== undefined;
  return {
    ok: true,
    plan: {
      limits: resolved.limits,
      ...(compiled ? { compileLimits: withRequested(policy.compileLimits, runtime.spec.compileLimits) } : {}),
      files,
      ...(stdin !== undefined ? { stdin } : {}),
      ...(compiled ? { compileArgv: runtime.spec.compile } : {}),
      runArgv: [...runtime.spec.run, ...(tests ? [] : (spec.args ?? []))],
      interactive,
      ...(tests ? { tests } : {}),
      ...(tests && spec.stopOnFirstFailure ? { stopOnFirstFailure: true } : {}),
    },
  };
}

/** `base` with whichever limits `requested` names in their place. */
export function withRequested(base: Limits, requested: RequestedLimits | undefined): Limits {
  const limits = { ...base };
  for (const [name, value] of Object.entries(requested ?? {}) as [keyof Limits, number | undefined][]) {
    if (value !== undefined) limits[name] = value;
  }
  return limits;
}
