import {
  ApiException,
  type ConfigurationOptions,
  type CoreV1Api,
  type CustomObjectsApi,
  type EventsV1Api,
  type KubeConfig,
  Observable,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
  type V1Pod,
  type V1Secret,
} from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, type ExecutionStatus, type WarmPoolStatus } from '../contract/crd.js';
import {
  API_VERSION_STRING,
  CONTAINER,
  EXECUTION_PLURAL,
  type Execution,
  WARM_POOL_PLURAL,
  type WarmPool,
} from '../contract/objects.js';
import { AttachSocket } from '../kube/attach-socket.js';
import { KubeletLogError, kubeletLogError } from '../kube/kubelet-log-error.js';
import type { LogRead } from './output.js';
import { type ClusterApi, type FollowRun, PermanentError, type SecretOwner } from './reconciler.js';

// ClusterApi on the real API server. Errors are sorted here: NotFound and AlreadyExists are
// answers, not failures; a rejection no retry can fix becomes a PermanentError; everything else
// is thrown as it is and retried with backoff.

export const REPORTING_CONTROLLER = `${API_GROUP}/operator`;

export class KubeClusterApi implements ClusterApi {
  /** Set once the API server refused `stream` (feature gate PodLogsQuerySplitStreams off). */
  private splitStreamsRefused = false;

  constructor(
    private readonly core: CoreV1Api,
    private readonly custom: CustomObjectsApi,
    private readonly events: EventsV1Api,
    private readonly identity: string,
    private readonly logReadTimeoutMs = 10_000,
    private readonly kubeConfig?: KubeConfig,
  ) {}

  async createPoolPod(pod: V1Pod): Promise<string> {
    try {
      const made = await this.core.createNamespacedPod({ namespace: pod.metadata?.namespace ?? '', body: pod });
      return made.metadata?.name ?? '';
    } catch (error) {
      throw classifyCreateError(error, 'pod');
    }
  }

  async claimPod(namespace: string, name: string, patch: object): Promise<V1Pod | 'conflict' | 'gone'> {
    try {
      return await this.core.patchNamespacedPod(
        { namespace, name, body: patch },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (error) {
      if (hasCode(error, 409)) return 'conflict';
      if (hasCode(error, 404)) return 'gone';
      throw error;
    }
  }

  async deliver(
    namespace: string,
    pod: string,
    bundle: Buffer,
    timeoutMs: number,
    follow?: FollowRun,
    when?: Promise<boolean>,
  ): Promise<boolean> {
    if (!this.kubeConfig) throw new Error('no kubeconfig to attach with');
    let answered: () => void = () => undefined;
    const firstOutput = new Promise<void>((resolve) => {
      answered = resolve;
    });
    const kept = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    const sizes = { stdout: 0, stderr: 0 };
    const whole = () => sizes.stdout <= (follow?.maxBytes ?? 0) && sizes.stderr <= (follow?.maxBytes ?? 0);
    const run = () => ({ stdout: Buffer.concat(kept.stdout), stderr: Buffer.concat(kept.stderr) });
    let ended = false;
    const end = (result: { stdout: Buffer; stderr: Buffer } | undefined) => {
      if (ended || !follow) return;
      ended = true;
      follow.onEnd(result);
    };
    /** Where in stdout the last record separator was: the launcher's last report starts with one. */
    let lastSeparator = -1;
    let stdoutEndsLine = false;
    let socket: AttachSocket | undefined;
    socket = await AttachSocket.open(this.kubeConfig, { namespace, pod, container: CONTAINER.run }, (stream, chunk) => {
      answered();
      // Past the bound the run cannot be judged from the attach; the log is read instead.
      sizes[stream] += chunk.length;
      if (follow && sizes[stream] <= follow.maxBytes) kept[stream].push(Buffer.from(chunk));
      if (stream === 'stdout' && chunk.length > 0) {
        const at = chunk.lastIndexOf(0x1e);
        if (at >= 0) lastSeparator = sizes.stdout - chunk.length + at;
        stdoutEndsLine = chunk[chunk.length - 1] === 0x0a;
      }
      // The launcher's last report is the end: judged now, not when the attach closes, which
      // waits for the container's exit to travel back through containerd and the kubelet.
      const mayBeEnd = stdoutEndsLine && lastSeparator >= 0 && sizes.stdout - lastSeparator <= 4096;
      if (follow?.isWhole && !ended && mayBeEnd && whole()) {
        const sofar = run();
        if (follow.isWhole(sofar)) {
          end(sofar);
          socket?.close();
        }
      }
    });
    let held = false;
    try {
      follow?.onOpen?.();
      if (when && !(await when)) return false;
      socket.send(bundle);
      // The launcher writes a frame as soon as it has the whole bundle.
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        firstOutput.then(() => 'answered' as const),
        socket.ended.then(() => 'ended' as const),
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      const took = outcome === 'answered' || socket.sawOutput;
      if (took && follow) {
        // Held on until the launcher exits: everything it and the program write comes here first.
        held = true;
        const giveUp = setTimeout(() => socket?.close(), follow.maxMs);
        giveUp.unref();
        void socket.ended.then((closed) => {
          clearTimeout(giveUp);
          end(closed.kind === 'ended' && whole() ? run() : undefined);
        });
      }
      return took;
    } finally {
      if (!held) socket.close();
    }
  }

  async replacePoolStatus(pool: WarmPool, status: WarmPoolStatus): Promise<void> {
    const { namespace, name } = pool.metadata;
    await this.custom.replaceNamespacedCustomObjectStatus({
      group: API_GROUP,
      version: API_VERSION,
      namespace,
      plural: WARM_POOL_PLURAL,
      name,
      body: { ...pool, status },
    });
  }

  async recordPoolEvent(pool: WarmPool, type: 'Normal' | 'Warning', reason: string, note: string): Promise<void> {
    await this.recordEventAbout('WarmPool', pool.metadata, type, reason, note);
  }

  async readExecution(namespace: string, name: string): Promise<Execution | null> {
    try {
      return (await this.custom.getNamespacedCustomObject({
        group: API_GROUP,
        version: API_VERSION,
        namespace,
        plural: EXECUTION_PLURAL,
        name,
      })) as Execution;
    } catch (error) {
      if (hasCode(error, 404)) return null;
      throw error;
    }
  }

  async readPod(namespace: string, name: string): Promise<V1Pod | null> {
    try {
      return await this.core.readNamespacedPod({ namespace, name });
    } catch (error) {
      if (hasCode(error, 404)) return null;
      throw error;
    }
  }

  async createPod(pod: V1Pod): Promise<boolean> {
    try {
      await this.core.createNamespacedPod({ namespace: pod.metadata?.namespace ?? '', body: pod });
      return true;
    } catch (error) {
      if (hasCode(error, 409)) return false;
      throw classifyCreateError(error, 'pod');
    }
  }

  async deletePod(namespace: string, name: string): Promise<void> {
    await ignoreNotFound(this.core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 }));
  }

  async createSecret(secret: V1Secret): Promise<string | null> {
    try {
      const made = await this.core.createNamespacedSecret({
        namespace: secret.metadata?.namespace ?? '',
        body: secret,
      });
      return made.metadata?.uid ?? '';
    } catch (error) {
      if (hasCode(error, 409)) return null;
      throw classifyCreateError(error, 'Secret');
    }
  }

  async readSecretOwner(namespace: string, name: string): Promise<SecretOwner | null> {
    try {
      const { metadata } = await this.core.readNamespacedSecret({ namespace, name });
      const controllerUid = metadata?.ownerReferences?.find((ref) => ref.controller)?.uid;
      return { uid: metadata?.uid ?? '', ...(controllerUid ? { controllerUid } : {}) };
    } catch (error) {
      if (hasCode(error, 404)) return null;
      throw error;
    }
  }

  async deleteSecret(namespace: string, name: string, uid: string): Promise<void> {
    try {
      await this.core.deleteNamespacedSecret({ namespace, name, body: { preconditions: { uid } } });
    } catch (error) {
      // 409: the precondition failed, a Secret of that name now is another one; not ours to delete.
      if (!hasCode(error, 404) && !hasCode(error, 409)) throw error;
    }
  }

  async readLog(namespace: string, pod: string, read: LogRead): Promise<Uint8Array> {
    // Without split streams both arrive interleaved as stdout, and stderr reads as empty.
    if (this.splitStreamsRefused && read.stream === 'Stderr') return new Uint8Array();
    const stream = this.splitStreamsRefused || read.stream === 'All' ? undefined : read.stream;
    try {
      const text = await this.core.readNamespacedPodLog(
        {
          namespace,
          name: pod,
          container: read.container,
          limitBytes: read.limitBytes,
          ...(stream ? { stream } : {}),
        },
        abortAfter(this.logReadTimeoutMs),
      );
      // A 200 whose body is the kubelet's own error: read again, as any failed read is.
      const kubeletError = kubeletLogError(text ?? '');
      if (kubeletError) throw new KubeletLogError(kubeletError);
      return Buffer.from(text ?? '', 'utf8');
    } catch (error) {
      const refusedStream = error instanceof ApiException && (error.code === 400 || error.code === 422);
      if (stream && refusedStream && /stream/i.test(statusMessage(error))) {
        this.splitStreamsRefused = true;
        return this.readLog(namespace, pod, read);
      }
      // A container that never wrote a log, or a pod already gone: nothing to show.
      if (hasCode(error, 404) || hasCode(error, 400)) return new Uint8Array();
      throw error;
    }
  }

  async replaceStatus(execution: Execution, status: ExecutionStatus): Promise<void> {
    const { namespace, name } = execution.metadata;
    await this.custom.replaceNamespacedCustomObjectStatus({
      group: API_GROUP,
      version: API_VERSION,
      namespace,
      plural: EXECUTION_PLURAL,
      name,
      body: { ...execution, status },
    });
  }

  async deleteExecution(execution: Execution): Promise<void> {
    const { namespace, name, uid } = execution.metadata;
    await ignoreNotFound(
      this.custom.deleteNamespacedCustomObject({
        group: API_GROUP,
        version: API_VERSION,
        namespace,
        plural: EXECUTION_PLURAL,
        name,
        propagationPolicy: 'Background',
        // Never delete a newer Execution that took the same name.
        body: { preconditions: { uid } },
      }),
    );
  }

  async recordEvent(execution: Execution, type: 'Normal' | 'Warning', reason: string, note: string): Promise<void> {
    await this.recordEventAbout('Execution', execution.metadata, type, reason, note);
  }

  /** An Event about one of sandpod's objects, shown by `kubectl describe` and `kubectl events`. */
  private async recordEventAbout(
    kind: 'Execution' | 'WarmPool',
    { namespace, name, uid }: { namespace: string; name: string; uid?: string },
    type: 'Normal' | 'Warning',
    reason: string,
    note: string,
  ): Promise<void> {
    await this.events.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${name}-`, namespace },
        eventTime: new V1MicroTime(Date.now()),
        reportingController: REPORTING_CONTROLLER,
        reportingInstance: this.identity,
        action: reason,
        reason,
        type,
        note: note.slice(0, 1024),
        regarding: { apiVersion: API_VERSION_STRING, kind, namespace, name, uid },
      },
    });
  }
}

/**
 * Call options that abort the request after `timeoutMs`. The API server proxies a log read to the
 * kubelet; when that kubelet is unreachable the read would hold a worker until the API server's
 * own dial timeout.
 */
export function abortAfter(timeoutMs: number): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (context) => {
          context.setSignal(AbortSignal.timeout(timeoutMs));
          return new Observable(Promise.resolve(context));
        },
        post: (response) => new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** A short text for logs: the API server's own message rather than the client's dump of the body. */
export function describeError(error: unknown): string {
  if (error instanceof ApiException) return `${error.code}: ${statusMessage(error)}`;
  return error instanceof Error ? error.message : String(error);
}

function hasCode(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

async function ignoreNotFound(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (!hasCode(error, 404)) throw error;
  }
}

/** The message an API rejection carries in its Status body. */
function statusMessage(error: ApiException<unknown>): string {
  const body = error.body;
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      return body;
    }
  }
  return (body as { message?: string } | undefined)?.message ?? error.message;
}

/**
 * Invalid objects and admission refusals of the pod itself (a missing RuntimeClass, a PodSecurity
 * level the namespace forbids) fail every retry the same way. A quota that is full, RBAC being set
 * up or a webhook that is down may clear, so they are retried.
 */
export function classifyCreateError(error: unknown, what: string): unknown {
  if (!(error instanceof ApiException)) return error;
  const message = statusMessage(error);
  if (error.code === 422 || error.code === 400) {
    return new PermanentError(`the API server refused the ${what}: ${message}`);
  }
  if (error.code === 403 && /RuntimeClass|PodSecurity|violates/i.test(message)) {
    return new PermanentError(`the API server refused the ${what}: ${message}; check the operator's pod policy`);
  }
  return error;
}
