import { PassThrough } from 'node:stream';
import { Log, PatchStrategy, setHeaderOptions, Watch } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION } from '../contract/crd.js';
import {
  API_VERSION_STRING,
  CONTAINER,
  EXECUTION_PLURAL,
  type Execution,
  podNameFor,
  RUNTIME_PLURAL,
  type Runtime,
} from '../contract/objects.js';
import { type ExecutionResult, isTerminal, type Phase } from '../contract/outcome.js';
import type { ExecutionRequest } from '../contract/request.js';
import type { RuntimeInfo } from '../contract/runtime.js';
import { statusCodeOf } from './api-errors.js';
import type { Cluster } from './cluster.js';

// Executions through the Kubernetes API: create, read, cancel, wait for the end, follow the log.

const executionsApi = (cluster: Cluster) => ({
  group: API_GROUP,
  version: API_VERSION,
  namespace: cluster.namespace,
  plural: EXECUTION_PLURAL,
});

export async function listRuntimes(cluster: Cluster): Promise<RuntimeInfo[]> {
  const list = (await cluster.custom.listClusterCustomObject({
    group: API_GROUP,
    version: API_VERSION,
    plural: RUNTIME_PLURAL,
  })) as { items: Runtime[] };
  return list.items.map((runtime) => ({
    name: runtime.metadata.name,
    version: runtime.spec.version ?? '',
    aliases: runtime.spec.aliases ?? [],
    compiled: runtime.spec.compile !== undefined,
    fileName: runtime.spec.fileName,
  }));
}

/** A name kubectl users can type: the program's file name, then a suffix the API server picks. */
export function namePrefixFor(file: string): string {
  const base = (file.split('/').pop() ?? '').replace(/\.[^.]*$/, '').toLowerCase();
  const cleaned = base
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return `${cleaned || 'run'}-`;
}

export async function createExecution(
  cluster: Cluster,
  request: ExecutionRequest,
  namePrefix: string,
): Promise<Execution> {
  const body = {
    apiVersion: API_VERSION_STRING,
    kind: 'Execution',
    metadata: { generateName: namePrefix, namespace: cluster.namespace },
    spec: request,
  };
  return (await cluster.custom.createNamespacedCustomObject({ ...executionsApi(cluster), body })) as Execution;
}

export async function readExecution(cluster: Cluster, name: string): Promise<Execution> {
  return (await cluster.custom.getNamespacedCustomObject({ ...executionsApi(cluster), name })) as Execution;
}

export async function cancelExecution(cluster: Cluster, name: string): Promise<void> {
  await cluster.custom.patchNamespacedCustomObject(
    { ...executionsApi(cluster), name, body: { spec: { cancel: true } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

export const phaseOf = (execution: Execution): Phase => execution.status?.phase ?? 'Pending';
export const isFinished = (execution: Execution) => isTerminal(phaseOf(execution));

/** The result as the REST API would answer it, for the exit status and --json. */
export function resultOf(execution: Execution): ExecutionResult {
  const status = execution.status ?? {};
  return {
    id: execution.metadata.name,
    runtime: execution.spec.runtime,
    phase: phaseOf(execution),
    reason: status.reason ?? null,
    exitCode: status.exitCode ?? null,
    signal: status.signal ?? null,
    message: status.message ?? '',
    createdAt: String(execution.metadata.creationTimestamp ?? ''),
    startedAt: status.startedAt ?? null,
    finishedAt: status.finishedAt ?? null,
    durationMs: status.durationMs ?? null,
    ...(status.compile ? { compile: status.compile } : {}),
    stdout: status.stdout ?? '',
    stderr: status.stderr ?? '',
    truncated: status.truncated === true,
  };
}

/**
 * Calls `onChange` with each version of the Execution until one is finished, which it answers.
 * A watch the API server ends is opened again from the version seen last.
 */
export async function untilFinished(
  cluster: Cluster,
  name: string,
  onChange: (execution: Execution) => void = () => {},
): Promise<Execution> {
  const watch = new Watch(cluster.kubeConfig);
  const path = `/apis/${API_GROUP}/${API_VERSION}/namespaces/${encodeURIComponent(cluster.namespace)}/${EXECUTION_PLURAL}`;
  for (;;) {
    const current = await readExecution(cluster, name);
    onChange(current);
    if (isFinished(current)) return current;
    const finished = await new Promise<Execution | undefined>((resolve, reject) => {
      let controller: AbortController | undefined;
      watch
        .watch(
          path,
          { fieldSelector: `metadata.name=${name}`, resourceVersion: current.metadata.resourceVersion },
          (type: string, object: Execution) => {
            if (type === 'DELETED') {
              controller?.abort();
              reject(new Error(`Execution ${name} was deleted before it finished`));
              return;
            }
            onChange(object);
            if (!isFinished(object)) return;
            controller?.abort();
            resolve(object);
          },
          () => resolve(undefined),
        )
        .then((opened) => {
          controller = opened;
        }, reject);
    });
    if (finished) return finished;
  }
}

/**
 * Writes the run container's log (stdout and stderr together, as `kubectl logs`) as it comes,
 * until the container ends. Rejects with the API's status while the container has not started.
 */
export async function followLog(
  cluster: Cluster,
  execution: Execution,
  out: NodeJS.WritableStream,
  follow: boolean,
): Promise<void> {
  const pod = execution.status?.podName ?? podNameFor(execution.metadata.name);
  const through = new PassThrough();
  await new Log(cluster.kubeConfig).log(cluster.namespace, pod, CONTAINER.run, through, { follow });
  for await (const chunk of through) out.write(chunk as Buffer);
}

/** Whether the pod (or its run container) is missing or not started: the log cannot be read yet. */
export function logNotReady(error: unknown): boolean {
  const code = statusCodeOf(error);
  return code === 400 || code === 404;
}
