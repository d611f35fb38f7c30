import { API_GROUP, API_VERSION, type ExecutionSpec as CrdExecutionSpec, EXECUTION_KIND } from '../../contract/crd.js';
import { type ExecutionObject, LABELS } from '../../contract/objects.js';
import type { ExecutionSpec } from '../backend.js';
import { rememberStoredBytes } from './stored-executions.js';

// The Execution the gateway writes for an admitted request, and what its watch cache keeps of one.

/** Set on an Execution whose callbackUrl gets Judge0's submission (made through /judge0). */
export const CALLBACK_FORMAT_ANNOTATION = 'sandpod.dev/callback-format';

/** The Execution that runs an admitted request; its limits are already resolved in full. */
export function desiredExecution(
  spec: ExecutionSpec,
  where: { tenant: string; namespace: string; name: string },
  settings: { ttlSecondsAfterFinished: number },
): ExecutionObject {
  const crdSpec: CrdExecutionSpec = {
    runtime: spec.runtime,
    ...(spec.source !== undefined ? { source: spec.source } : {}),
    ...(spec.files !== undefined ? { files: spec.files.map(({ name, content }) => ({ name, content })) } : {}),
    ...(spec.stdin !== undefined ? { stdin: spec.stdin } : {}),
    ...(spec.args !== undefined ? { args: [...spec.args] } : {}),
    ...(spec.interactive === true ? { interactive: true } : {}),
    ...(spec.expectedOutput !== undefined ? { expectedOutput: spec.expectedOutput } : {}),
    ...(spec.tests !== undefined ? { tests: spec.tests.map((test) => ({ ...test })) } : {}),
    ...(spec.compare !== undefined ? { compare: { ...spec.compare } } : {}),
    ...(spec.stopOnFirstFailure !== undefined ? { stopOnFirstFailure: spec.stopOnFirstFailure } : {}),
    ...(spec.callbackUrl !== undefined ? { callbackUrl: spec.callbackUrl } : {}),
    limits: { ...spec.limits },
    ttlSecondsAfterFinished: settings.ttlSecondsAfterFinished,
  };
  return {
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: EXECUTION_KIND,
    metadata: {
      name: where.name,
      namespace: where.namespace,
      labels: { [LABELS.tenant]: where.tenant },
      ...(spec.callbackFormat === 'judge0' ? { annotations: { [CALLBACK_FORMAT_ANNOTATION]: 'judge0' } } : {}),
    },
    spec: crdSpec,
  };
}

/** The merge patch that asks the operator to stop an Execution; it cannot be undone. */
export const CANCEL_PATCH = { spec: { cancel: true } } as const;

/**
 * What the watch cache keeps of an Execution: names, labels and times, what a follower needs of
 * the spec, and status without output. Readers that need output read the whole object.
 */
export function slimExecution(execution: ExecutionObject): ExecutionObject {
  return rememberStoredBytes(slimmed(execution), execution);
}

function slimmed(execution: ExecutionObject): ExecutionObject {
  const {
    source: _source,
    files: _files,
    stdin: _stdin,
    args: _args,
    expectedOutput: _expectedOutput,
    tests: _tests,
    ...spec
  } = execution.spec;
  const { managedFields: _managedFields, ...metadata } = execution.metadata;
  // The tests' inputs go; their number stays, for a follower to tell a tests run.
  const slim: ExecutionObject = {
    ...execution,
    metadata,
    spec: execution.spec.tests ? { ...spec, tests: execution.spec.tests.map(() => ({})) } : spec,
  };
  if (execution.status) {
    const { stdout: _stdout, stderr: _stderr, compile: _compile, tests: _testOutcomes, ...status } = execution.status;
    slim.status = status;
  }
  return slim;
}
