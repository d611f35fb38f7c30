import type { ExecutionSpec } from '../contract/crd.js';
import { isTerminal } from '../contract/index.js';
import type { Execution } from '../contract/objects.js';

// What the operator's cache keeps of an Execution: enough to decide every pass, not the payload.
// Source files and stdin (up to 1 MiB) are needed once, to make the input Secret, and the
// reconciler reads the whole object from the API server for that (ClusterApi.readExecution).
// Output in status is written, never read back. A finished Execution is only ever cleaned up and
// deleted after its TTL, so of those the cache keeps the few fields that takes; with thousands
// finished and kept, they are most of the cache.

/**
 * The Execution without managedFields, with its source, file contents and stdin emptied (the
 * names stay, so the spec still passes its schema) and, once finished, without anything but what
 * cleanup, the TTL and the per-namespace cap read.
 */
export function slimExecution(execution: Execution): Execution {
  const { metadata, spec, status } = execution;
  if (status?.phase && isTerminal(status.phase)) {
    return {
      apiVersion: execution.apiVersion,
      kind: execution.kind,
      metadata: {
        name: metadata.name,
        namespace: metadata.namespace,
        uid: metadata.uid,
        ...defined({
          resourceVersion: metadata.resourceVersion,
          generation: metadata.generation,
          creationTimestamp: metadata.creationTimestamp,
          deletionTimestamp: metadata.deletionTimestamp,
        }),
      },
      spec: {
        runtime: spec.runtime,
        ...defined({ ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished, cancel: spec.cancel }),
      },
      status: {
        phase: status.phase,
        ...defined({
          reason: status.reason,
          podName: status.podName,
          finishedAt: status.finishedAt,
          warm: status.warm,
          stdinRecords: status.stdinRecords,
        }),
      },
    };
  }
  const { managedFields: _dropped, ...kept } = metadata;
  return { ...execution, metadata: kept, spec: withoutPayload(spec) };
}

/** The spec with every payload string emptied: same shape, same schema, none of the bytes. */
export function withoutPayload(spec: ExecutionSpec): ExecutionSpec {
  return {
    ...spec,
    ...(spec.source !== undefined ? { source: '' } : {}),
    ...(spec.files !== undefined ? { files: spec.files.map((file) => ({ ...file, content: '' })) } : {}),
    ...(spec.stdin !== undefined ? { stdin: '' } : {}),
  };
}

function defined<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;
}
