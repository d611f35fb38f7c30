import { randomBytes } from 'node:crypto';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { ExecutionStatus } from '../contract/crd.js';
import { isTerminal } from '../contract/index.js';
import {
  CONTAINER,
  type Execution,
  findRuntime,
  LABELS,
  podName,
  type Runtime,
  secretName,
  type WarmPool,
} from '../contract/objects.js';
import { encodeBundle } from '../sandbox/launcher/bundle.js';
import { parseWarmLog } from '../sandbox/launcher/warm-log.js';
import { queuePosition } from './capacity.js';
import type { Policy } from './config.js';
import { parseKey } from './keys.js';
import type { Observation } from './observation.js';
import { type CapturedOutput, captureOutput, type LogRead, logReads } from './output.js';
import { type ExecutionPlan, planExecution } from './plan.js';
import { desiredPod, desiredSecret, wallDeadlineSeconds } from './pod.js';
import { statusFrom } from './status.js';
import { statusChanged, withoutNulls } from './status-write.js';
import { toDate } from './time.js';
import {
  captureWarmOutput,
  endedByLauncher,
  nonceOf,
  warmLogReads,
  warmPodView,
  warmStdoutBytes,
  wholeOverAttach,
} from './warm-output.js';
import {
  bundleFor,
  choosePool,
  claimPatch,
  desiredPoolPod,
  isPoolMember,
  isReady,
  isWarm,
  poolSize,
  templateOf,
} from './warm-pool.js';

// reconcile(namespace/name): read the Execution and its pod, make the children the plan calls for,
// rebuild status from what is there and write it only if it changed. Safe to run any number of
// times: child names are fixed, creation tolerates AlreadyExists, deletion tolerates NotFound.

/** The few calls the reconciler makes; kube.ts implements them on the real API. */
export interface ClusterApi {
  /** The whole Execution, payload included (the cache keeps it slim): null when it does not exist. */
  readExecution(namespace: string, name: string): Promise<Execution | null>;
  /** A live read, past the cache: null when the pod does not exist. */
  readPod(namespace: string, name: string): Promise<V1Pod | null>;
  /** Resolves false when a pod of that name already exists. */
  createPod(pod: V1Pod): Promise<boolean>;
  deletePod(namespace: string, name: string): Promise<void>;
  /** Resolves the uid of the Secret made, or null when a Secret of that name already exists. */
  createSecret(secret: V1Secret): Promise<string | null>;
  /** The Secret's uid and the uid of its controlling owner: null when it does not exist. */
  readSecretOwner(namespace: string, name: string): Promise<SecretOwner | null>;
  /** Deletes the Secret only if it is still the one with this uid; gone or replaced is no error. */
  deleteSecret(namespace: string, name: string, uid: string): Promise<void>;
  readLog(namespace: string, pod: string, read: LogRead): Promise<Uint8Array>;
  /** Replaces status at the Execution's resourceVersion; a conflict throws and is retried. */
  replaceStatus(execution: Execution, status: ExecutionStatus): Promise<void>;
  deleteExecution(execution: Execution): Promise<void>;
  recordEvent(execution: Execution, type: 'Normal' | 'Warning', reason: string, note: string): Promise<void>;
  /**
   * Applies a claim's merge patch at the resourceVersion it names: the pod as claimed, or
   * `conflict` when the pod changed since (another claim), or `gone`.
   */
  claimPod(namespace: string, name: string, patch: object): Promise<V1Pod | 'conflict' | 'gone'>;
  /**
   * Writes the bundle to the pod's launcher through an attach; true once the launcher answered.
   * With `follow`, the attach is then held until the launcher exits and what came over it is
   * handed to `follow.onEnd` (undefined when the attach broke or brought more than maxBytes).
   * With `when`, the attach is opened at once and the bundle sent only once `when` resolves true
   * (false: closed unsent, and false is returned).
   */
  deliver(
    namespace: string,
    pod: string,
    bundle: Buffer,
    timeoutMs: number,
    follow?: FollowRun,
    when?: Promise<boolean>,
  ): Promise<boolean>;
}

/**
 * A warm run's way, in order: the pass that claimed began, the claim, the status that names the
 * pod, the delivery's attach open, the launcher took the program, its last report came over the
 * attach, the final status.
 */
export type WarmStep = 'seen' | 'claimed' | 'named' | 'attached' | 'accepted' | 'ended' | 'finished';

/** A warm run's attach held after the delivery: its whole output, once the launcher exited. */
export interface FollowRun {
  maxBytes: number;
  /** The attach is closed after this long even if the launcher never ends (its pod deadline). */
  maxMs: number;
  /** The attach is open; the bundle goes next. */
  onOpen?(): void;
  /**
   * Whether what came so far is all the launcher forwarded, its last report included: then
   * `onEnd` gets it at once, without waiting for the attach to close.
   */
  isWhole?(run: { stdout: Buffer; stderr: Buffer }): boolean;
  onEnd(run: { stdout: Buffer; stderr: Buffer } | undefined): void;
}

/** What the informers hold; Executions without their payload (operator/cached-execution.ts). */
export interface ClusterCache {
  execution(namespace: string, name: string): Execution | undefined;
  executions(namespace: string): Iterable<Execution>;
  pod(namespace: string, name: string): V1Pod | undefined;
  runtimes(): Iterable<Runtime>;
  pools(namespace: string): Iterable<WarmPool>;
  poolPods(namespace: string, pool: string): V1Pod[];
  /** A pod the Execution controls, found by owner: a claimed pool pod status does not name yet. */
  claimedPod(namespace: string, execution: Execution): V1Pod | undefined;
}

export interface SecretOwner {
  uid: string;
  /** The uid of the object that controls it, if any. */
  controllerUid?: string;
}

/** A failure that retrying cannot fix; it becomes a terminal SystemError with this message. */
export class PermanentError extends Error {
  override name = 'PermanentError';
}

export interface ReconcileResult {
  /** Look again after this long even if nothing changes (deadlines, TTL). */
  requeueAfterMs?: number;
}

export interface ReconcilerHooks {
  onFinished?(execution: Execution, status: ExecutionStatus): void;
  onStarted?(execution: Execution, status: ExecutionStatus): void;
  /** Look at this key again soon: something this process held (an attach) saw a change. */
  requeue?(key: string): void;
  /** An Execution got its pod: `pool` names the WarmPool it was claimed from, if any. */
  onServed?(execution: Execution, pool: string | undefined): void;
  /** The launcher of a claimed pod took its program, this long after the claim began. */
  onDelivered?(execution: Execution, pool: string, seconds: number): void;
}

/** How long a pod once tried is left alone by this process's claims: longer than any watch lag. */
const CLAIM_MEMORY_MS = 60_000;

/** How long a claimed pod's launcher has to answer a bundle before it is sent again. */
const DELIVERY_TIMEOUT_MS = 10_000;

/** How soon to look again at an Execution whose cached copy predates the status just written. */
const STALE_CACHE_RETRY_MS = 200;

export class Reconciler {
  /**
   * Per key, the resourceVersion a status was last written over: while the cache still shows that
   * version, it has not seen the write yet, and acting on it would only end in a conflict.
   */
  private readonly writtenOver = new Map<string, string>();
  /** Keys whose finished children are known gone, so a resync does not delete them again. */
  private readonly cleanedUp = new Map<string, string>();
  /** Per key, log reads of its ended pod that failed so far. */
  private readonly logReadFailures = new Map<string, { count: number; firstMs: number }>();
  /** Keys this process made children for, whose Secret may exist although status names no pod. */
  private readonly childrenMade = new Set<string>();
  /** Per key, the uid of the input Secret this process made or found owned by the Execution. */
  private readonly secretUids = new Map<string, string>();
  /** Per key, the uid of the claimed pod whose launcher took its bundle from this process. */
  private readonly delivered = new Map<string, string>();
  /**
   * Pool pods this process claimed or tried to, with when (ms): not tried again while the cache may
   * still show them unclaimed.
   */
  private readonly claimed = new Map<string, number>();
  /** Per key, what the held attach of its warm pod brought once the launcher exited. */
  private readonly attachedRuns = new Map<string, { stdout: Buffer; stderr: Buffer }>();
  /**
   * Per key of a warm run, when (epoch ms) each step of its way happened, logged once it finished
   * (bench/warm-pool.ts reads them to say where the time goes).
   */
  private readonly warmSteps = new Map<string, Partial<Record<WarmStep, number>>>();

  constructor(
    private readonly api: ClusterApi,
    private readonly cache: ClusterCache,
    private readonly policy: Policy,
    private readonly log: Logger,
    private readonly clock: () => Date = () => new Date(),
    private readonly hooks: ReconcilerHooks = {},
  ) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = parseKey(key);
    const execution = this.cache.execution(namespace, name);
    // Gone: the garbage collector removes the pod and Secret through their owner references.
    if (!execution) {
      this.writtenOver.delete(key);
      this.cleanedUp.delete(key);
      this.logReadFailures.delete(key);
      this.childrenMade.delete(key);
      this.secretUids.delete(key);
      this.attachedRuns.delete(key);
      this.delivered.delete(key);
      this.warmSteps.delete(key);
      return {};
    }
    const passMs = Date.now();
    const version = execution.metadata.resourceVersion;
    if (version !== undefined && this.writtenOver.get(key) === version) return { requeueAfterMs: STALE_CACHE_RETRY_MS };
    this.writtenOver.delete(key);
    const log = this.log.child({ execution: key });
    if (execution.status?.phase && isTerminal(execution.status.phase)) return this.finished(execution, log);

    const now = this.clock();
    const runtime = findRuntime(this.cache.runtimes(), execution.spec.runtime);
    const planned = runtime ? planExecution(execution, runtime, this.policy) : undefined;
    let pod = ownPod(this.cache.pod(namespace, execution.status?.podName ?? podName(execution)), execution);
    // A pool pod claimed by an earlier pass (or process) that stopped before status named it.
    pod ??= ownPod(this.cache.claimedPod(namespace, execution), execution);
    // The cache may not have seen a pod created a moment ago; only a live read proves it is gone.
    if (!pod && execution.status?.podName) {
      pod = ownPod(await this.api.readPod(namespace, execution.status.podName), execution);
    }

    const observed: Observation = { runtimeFound: runtime !== undefined, pod };
    if (planned) observed.plan = planned;
    const wantsPod = runtime && planned?.ok && !pod && !execution.status?.podName && execution.spec.cancel !== true;
    if (wantsPod) {
      const position = queuePosition(
        execution,
        this.cache.executions(namespace),
        this.policy.capacity.maxRunningPerNamespace,
      );
      if (position > 0) observed.queuePosition = position;
    }
    /** A pod claimed in this pass: its program goes to it once status names it. */
    let claim: { whole: Execution; plan: ExecutionPlan; startedMs: number } | undefined;
    if (wantsPod && !observed.queuePosition) {
      // The cache has no payload: plan again on the whole object, whose size may still refuse it.
      const whole = await this.api.readExecution(namespace, name);
      // Deleted, or deleted and made again: the watch brings that change and its own pass.
      if (!whole || whole.metadata.uid !== execution.metadata.uid) return {};
      const planWhole = planExecution(whole, runtime, this.policy);
      observed.plan = planWhole;
      if (planWhole.ok) {
        try {
          const warm = await this.claimWarm(whole, runtime, planWhole.plan, log);
          if (warm) {
            this.warmSteps.set(key, { seen: passMs, claimed: Date.now() });
            observed.pod = warm.pod;
            claim = { whole, plan: planWhole.plan, startedMs: warm.startedMs };
          } else {
            this.childrenMade.add(key);
            observed.pod = await this.createChildren(whole, runtime, planWhole.plan, log);
            this.hooks.onServed?.(execution, undefined);
          }
        } catch (error) {
          if (!(error instanceof PermanentError)) throw error;
          observed.createError = error.message;
        }
      }
    }
    const livePod = observed.pod;
    const deliverTo = { execution, livePod, runtime, planned, claim, key, log };
    // A live stdin's writer (the gateway's attach) may reach the launcher as soon as status names
    // the pod, and its input must never mix into the program on its way: the program goes first.
    const liveStdin = planned?.ok === true && planned.plan.interactive;
    if (liveStdin && (await this.deliverIfDue(deliverTo)) === 'gone') return {};
    // Otherwise the attach to a pod claimed now is opened while status is written, and the program
    // goes once status names the pod.
    const early = claim && !liveStdin && livePod ? this.deliverAfter(claim, livePod, log) : undefined;
    try {
      let outputLost: string | undefined;
      const attached = this.attachedRuns.get(key);
      if (planned?.ok && observed.pod && attached && isWarm(observed.pod) && !hasEnded(observed.pod, execution)) {
        // The launcher's last report came over the attach: the end is known before the kubelet's.
        const capture = this.warmCapture(attached, planned.plan, observed.pod);
        if (capture.report && wholeOverAttach(capture)) {
          observed.output = capture.output;
          const compiled = planned.plan.compileArgv !== undefined;
          observed.pod = warmPodView(endedByLauncher(observed.pod, capture.report), capture.log, compiled);
        }
      }
      if (observed.output) {
        // Judged from the attach above.
      } else if (planned?.ok && observed.pod && hasEnded(observed.pod, execution)) {
        const read = await this.readOutputOrGiveUp(key, observed.pod, planned.plan, log);
        observed.output = read.output;
        outputLost = read.lost;
        if (read.view) observed.pod = read.view;
      } else if (observed.pod && isWarm(observed.pod)) {
        observed.pod = warmPodView(observed.pod);
      }

      const status = statusFrom(execution, observed, now, this.policy.status);
      if (outputLost && isTerminal(status.phase)) {
        status.message = [status.message, `output could not be read: ${outputLost}`].filter(Boolean).join('; ');
      }
      if (statusChanged(execution.status, status)) {
        await this.api.replaceStatus(execution, withoutNulls(status));
        if (version !== undefined) this.writtenOver.set(key, version);
        log.info('Updated status', { phase: status.phase, reason: status.reason, pod: status.podName });
        this.noteWarmStep(key, isTerminal(status.phase) ? 'finished' : 'named');
        await this.announce(execution, status);
      }
      if (isTerminal(status.phase)) return this.finished({ ...execution, status }, log);
      // The program goes to a claimed pod after status names it, so that followers open its log
      // while it is delivered.
      await early?.send();
      if (!liveStdin && (await this.deliverIfDue(deliverTo)) === 'gone') return {};
      return recheck(execution, observed, now, this.policy);
    } finally {
      // Any way out before the program went: the attach is closed unsent.
      await early?.withhold();
    }
  }

  /**
   * A delivery to a pod claimed in this pass whose attach opens now; the program goes at `send`,
   * never at `withhold`. Each resolves once the delivery is over (send throws as deliver does).
   */
  private deliverAfter(
    claim: { whole: Execution; plan: ExecutionPlan; startedMs: number },
    pod: V1Pod,
    log: Logger,
  ): { send(): Promise<void>; withhold(): Promise<void> } {
    let decide: (go: boolean) => void = () => undefined;
    const when = new Promise<boolean>((resolve) => {
      decide = resolve;
    });
    const delivery = this.deliver(claim.whole, pod, claim.plan, claim.startedMs, log, when);
    // Awaited by send or withhold; a failure before either is not lost, only not yet seen.
    delivery.catch(() => undefined);
    return {
      send: async () => {
        decide(true);
        await delivery;
      },
      withhold: async () => {
        decide(false);
        await delivery.catch(() => undefined);
      },
    };
  }

  /**
   * Hands a claimed pod's launcher its program unless this process did already. A pod claimed in
   * an earlier pass, or by a process that stopped, gets it now; a launcher that already has one
   * ignores a second. `gone` when the Execution was deleted meanwhile.
   */
  private async deliverIfDue(to: {
    execution: Execution;
    livePod: V1Pod | null | undefined;
    runtime: Runtime | undefined;
    planned: ReturnType<typeof planExecution> | undefined;
    claim: { whole: Execution; plan: ExecutionPlan; startedMs: number } | undefined;
    key: string;
    log: Logger;
  }): Promise<'gone' | undefined> {
    const { execution, livePod, runtime, planned, claim, key, log } = to;
    if (!(planned?.ok && runtime && livePod && isWarm(livePod))) return undefined;
    if (this.delivered.get(key) === livePod.metadata?.uid) return undefined;
    if (livePod.status?.phase !== 'Running' || execution.spec.cancel === true) return undefined;
    // After a restart: the launcher may have its program already, and then says so first in its log.
    if (!claim && (await this.launcherHasProgram(livePod))) {
      this.delivered.set(key, livePod.metadata?.uid ?? '');
      return undefined;
    }
    const { namespace, name } = execution.metadata;
    const whole = claim?.whole ?? (await this.api.readExecution(namespace, name));
    if (!whole || whole.metadata.uid !== execution.metadata.uid) return 'gone';
    const planWhole = claim ? { ok: true as const, plan: claim.plan } : planExecution(whole, runtime, this.policy);
    if (planWhole.ok) await this.deliver(whole, livePod, planWhole.plan, claim?.startedMs ?? performance.now(), log);
    return undefined;
  }

  /**
   * Claims a ready pod of a pool that serves this runtime and fits the limits (reconcile hands its
   * launcher the program once status names it): null when there is none, and the Execution gets a
   * cold pod. The claim is
   * a patch at the resourceVersion the cache saw, so of two claimers (workers, replicas, a stale
   * cache) only one wins; the loser tries the next pod. A claimed pod names its Execution as its
   * controller, which is how a later pass finds it if this one stops before status is written.
   */
  private async claimWarm(
    execution: Execution,
    runtime: Runtime,
    plan: ExecutionPlan,
    log: Logger,
  ): Promise<{ pod: V1Pod; startedMs: number } | null> {
    const { namespace } = execution.metadata;
    const nowMs = performance.now();
    for (const [pod, at] of this.claimed) if (nowMs - at > CLAIM_MEMORY_MS) this.claimed.delete(pod);
    const pools = choosePool(this.cache.pools(namespace), runtime, plan, (pool) =>
      poolSize(pool, runtime, this.policy),
    );
    for (const pool of pools) {
      // Judged tests need the launcher options of the current template (--scratch): a pod made
      // before it, which the pool replaces on its next pass, serves only plain runs.
      const template = plan.tests
        ? templateOf(desiredPoolPod(pool, runtime, poolSize(pool, runtime, this.policy), this.policy.pod))
        : undefined;
      const ready = this.cache
        .poolPods(namespace, pool.metadata.name)
        .filter(
          (pod) =>
            isPoolMember(pod, pool) &&
            isReady(pod) &&
            !this.claimed.has(pod.metadata?.name ?? '') &&
            (template === undefined || templateOf(pod) === template),
        );
      // Claimers that start from the same cache spread over the pods rather than all take the first.
      for (const pod of shuffled(ready)) {
        const name = pod.metadata?.name ?? '';
        this.claimed.set(name, performance.now());
        const startedMs = performance.now();
        const result = await this.api.claimPod(
          namespace,
          name,
          claimPatch(pod, execution, plan, this.policy.pod, this.clock(), randomBytes(18).toString('hex')),
        );
        if (result === 'conflict' || result === 'gone') continue;
        log.info('Claimed warm Pod', { pod: name, warmPool: pool.metadata.name });
        this.hooks.onServed?.(execution, pool.metadata.name);
        return { pod: result, startedMs };
      }
    }
    return null;
  }

  private async deliver(
    execution: Execution,
    pod: V1Pod,
    plan: ExecutionPlan,
    startedMs: number,
    log: Logger,
    when?: Promise<boolean>,
  ): Promise<void> {
    let withheld = false;
    const sendWhen = when?.then((go) => {
      withheld = !go;
      return go;
    });
    const { namespace, name, uid } = pod.metadata ?? {};
    const bundle = encodeBundle(bundleFor(plan, this.policy.pod, nonceOf(pod)));
    const key = `${execution.metadata.namespace}/${execution.metadata.name}`;
    const answered = await this.api.deliver(
      namespace ?? '',
      name ?? '',
      bundle,
      DELIVERY_TIMEOUT_MS,
      {
        maxBytes: warmStdoutBytes(plan),
        maxMs: (pod.spec?.activeDeadlineSeconds ?? wallDeadlineSeconds(plan, this.policy.pod)) * 1000,
        isWhole: (run) => {
          const capture = this.warmCapture(run, plan, pod);
          return capture.report !== undefined && wholeOverAttach(capture);
        },
        onOpen: () => this.noteWarmStep(key, 'attached'),
        onEnd: (run) => {
          if (!run) return;
          this.noteWarmStep(key, 'ended');
          this.attachedRuns.set(key, run);
          this.hooks.requeue?.(key);
        },
      },
      sendWhen,
    );
    if (withheld) return;
    if (!answered) throw new Error(`the launcher of pod ${name} did not take its program; sending it again`);
    this.noteWarmStep(key, 'accepted');
    this.delivered.set(key, uid ?? '');
    const pool = pod.metadata?.labels?.[LABELS.pool] ?? '';
    this.hooks.onDelivered?.(execution, pool, (performance.now() - startedMs) / 1000);
    log.info('Delivered the program to its warm Pod', { pod: name });
    await this.event(execution, 'Normal', 'ClaimedWarmPod', `Runs in pod ${name} of WarmPool ${pool}`);
  }

  /** Whether the pod's log starts with the launcher's word that it has its whole bundle. */
  private async launcherHasProgram(pod: V1Pod): Promise<boolean> {
    const read: LogRead = {
      part: 'stdout',
      container: CONTAINER.run,
      stream: this.policy.status.splitStreams ? 'Stdout' : 'All',
      limitBytes: 64,
    };
    const head = await this.api.readLog(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', read);
    return parseWarmLog(head).accepted;
  }

  private async createChildren(
    execution: Execution,
    runtime: Runtime,
    plan: ExecutionPlan,
    log: Logger,
  ): Promise<V1Pod> {
    const secret = desiredSecret(execution, runtime, plan);
    const key = `${execution.metadata.namespace}/${execution.metadata.name}`;
    this.secretUids.set(key, await this.ownInputSecret(execution, secret));
    const pod = desiredPod(execution, runtime, plan, this.policy.pod);
    const created = await this.api.createPod(pod);
    if (created) {
      log.info('Created Pod', { pod: pod.metadata?.name, runtime: runtime.metadata.name });
      await this.event(execution, 'Normal', 'PodCreated', `Created pod ${pod.metadata?.name}`);
      return pod;
    }
    const existing = await this.api.readPod(execution.metadata.namespace, podName(execution));
    if (existing && !ownPod(existing, execution)) {
      // An Execution of the same name was deleted and made again; its old pod is on its way out.
      throw new Error(`pod ${podName(execution)} still belongs to an earlier Execution of this name`);
    }
    return existing ?? pod;
  }

  /**
   * The uid of the input Secret, made now or by an earlier pass. One of that name that the
   * Execution does not control was planted by someone else (anyone who may create Secrets in the
   * namespace): mounting it would run their source in place of the tenant's.
   */
  private async ownInputSecret(execution: Execution, secret: V1Secret): Promise<string> {
    const made = await this.api.createSecret(secret);
    if (made !== null) return made;
    const name = secretName(execution);
    const existing = await this.api.readSecretOwner(execution.metadata.namespace, name);
    // Deleted between the two calls: the next pass makes it.
    if (!existing) throw new Error(`Secret ${name} existed and vanished; trying again`);
    if (existing.controllerUid !== execution.metadata.uid) {
      throw new PermanentError(
        `Secret ${name} already exists and is not owned by this Execution; it was not used. ` +
          'Something other than the operator made it: delete it, then create the Execution again',
      );
    }
    return existing.uid;
  }

  /**
   * Deletes the input Secret only if this Execution owns it: a Secret of that name planted by
   * someone else is left alone (and was never mounted, see ownInputSecret).
   */
  private async deleteOwnSecret(execution: Execution, key: string, log: Logger): Promise<void> {
    const { namespace, uid } = execution.metadata;
    const name = secretName(execution);
    let secretUid = this.secretUids.get(key);
    if (secretUid === undefined) {
      const existing = await this.api.readSecretOwner(namespace, name);
      if (existing && existing.controllerUid !== uid) {
        log.warn('Left alone a Secret the Execution does not own', { secret: name });
      }
      if (existing?.controllerUid === uid) secretUid = existing.uid;
    }
    if (secretUid !== undefined) await this.api.deleteSecret(namespace, name, secretUid);
    this.secretUids.delete(key);
  }

  /**
   * A log read that fails is retried with the key's backoff, logReadAttempts times in all and for
   * at least logReadGiveUpSeconds after the first failure (a kubelet restart passes); then
   * the Execution ends with what the pod's exit says and no output, rather than never: the node
   * may be gone, or (kwok) never kept logs. `lost` says why the output is missing.
   */
  private async readOutputOrGiveUp(
    key: string,
    pod: V1Pod,
    plan: ExecutionPlan,
    log: Logger,
  ): Promise<{ output: CapturedOutput; lost?: string; view?: V1Pod }> {
    try {
      if (isWarm(pod)) {
        const { output, log } = await this.readWarmOutput(pod, plan);
        this.logReadFailures.delete(key);
        return { output, view: warmPodView(pod, log, plan.compileArgv !== undefined) };
      }
      const output = await this.readOutput(pod, plan);
      this.logReadFailures.delete(key);
      return { output };
    } catch (error) {
      const nowMs = this.clock().getTime();
      const before = this.logReadFailures.get(key);
      const failures = (before?.count ?? 0) + 1;
      const firstMs = before?.firstMs ?? nowMs;
      const giveUpMs = this.policy.status.logReadGiveUpSeconds * 1000;
      if (failures < this.policy.status.logReadAttempts || nowMs - firstMs < giveUpMs) {
        this.logReadFailures.set(key, { count: failures, firstMs });
        throw error;
      }
      this.logReadFailures.delete(key);
      const lost = error instanceof Error ? error.message : String(error);
      log.warn('Gave up reading the pod logs', { pod: pod.metadata?.name, attempts: failures, error: lost });
      return {
        output: captureOutput({}, plan.limits, this.policy.status, plan.tests?.length),
        lost,
        ...(isWarm(pod) ? { view: warmPodView(pod) } : {}),
      };
    }
  }

  /** A warm pod's one log: the launcher's frames of the compile step, then the run's output. */
  private async readWarmOutput(pod: V1Pod, plan: ExecutionPlan) {
    const logs: Partial<Record<LogRead['part'], Uint8Array>> = {};
    for (const read of warmLogReads(plan, this.policy.status)) {
      logs[read.part] = await this.api.readLog(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', read);
    }
    return this.warmCapture(logs, plan, pod);
  }

  /** A warm pod's output, from its log or its attach, read for this plan. */
  private warmCapture(logs: Partial<Record<LogRead['part'], Uint8Array>>, plan: ExecutionPlan, pod: V1Pod) {
    return captureWarmOutput(logs, plan.limits, this.policy.status, nonceOf(pod), plan.tests?.length);
  }

  /** Output is read once, after the pod ended (or when cancelled), and before the pod is deleted. */
  private async readOutput(pod: V1Pod, plan: ExecutionPlan): Promise<CapturedOutput> {
    const logs: Partial<Record<LogRead['part'], Uint8Array>> = {};
    for (const read of logReads(plan, this.policy.status)) {
      if (!containerStarted(pod, read.container)) continue;
      logs[read.part] = await this.api.readLog(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', read);
    }
    return captureOutput(logs, plan.limits, this.policy.status, plan.tests?.length);
  }

  /** A finished Execution gives its capacity back at once and is deleted after its TTL. */
  private async finished(execution: Execution, log: Logger): Promise<ReconcileResult> {
    const { namespace, name, uid } = execution.metadata;
    const key = `${namespace}/${name}`;
    const pod = execution.status?.podName ?? podName(execution);
    if (this.cache.pod(namespace, pod)) {
      await this.api.deletePod(namespace, pod);
      log.info('Deleted Pod', { pod });
    }
    // No pod in status and none made here: no Secret was made either, so a restart spends no
    // request per finished Execution on it. (One made just before a crash and never followed by a
    // pod goes with its Execution, through its owner reference.)
    const mayHaveSecret = (Boolean(execution.status?.podName) && !execution.status?.warm) || this.childrenMade.has(key);
    if (mayHaveSecret && this.cleanedUp.get(key) !== uid) {
      await this.deleteOwnSecret(execution, key, log);
      this.cleanedUp.set(key, uid);
      this.childrenMade.delete(key);
    }
    this.attachedRuns.delete(key);
    this.delivered.delete(key);
    const steps = this.warmSteps.get(key);
    if (steps) {
      this.warmSteps.delete(key);
      log.info('Warm run steps', { stepsEpochMs: steps });
    }
    const expiry = ttlExpiry(execution);
    if (!expiry) return {};
    const left = expiry.getTime() - this.clock().getTime();
    if (left > 0) return { requeueAfterMs: left };
    await this.api.deleteExecution(execution);
    log.info('Deleted Execution after its TTL', { ttlSeconds: execution.spec.ttlSecondsAfterFinished });
    return {};
  }

  /** The first time a warm run got to `step`. */
  private noteWarmStep(key: string, step: WarmStep): void {
    const steps = this.warmSteps.get(key);
    if (steps && steps[step] === undefined) steps[step] = Date.now();
  }

  /** Events are for people; one lost to an API hiccup is logged, not retried. */
  private async event(execution: Execution, type: 'Normal' | 'Warning', reason: string, note: string) {
    try {
      await this.api.recordEvent(execution, type, reason, note);
    } catch (error) {
      this.log.warn('Failed to record Event', {
        execution: `${execution.metadata.namespace}/${execution.metadata.name}`,
        reason,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private async announce(execution: Execution, status: ExecutionStatus): Promise<void> {
    // A pod may start and end between two passes: its start counts even if Running was never seen.
    if (!execution.status?.startedAt && status.startedAt) this.hooks.onStarted?.(execution, status);
    const before = execution.status?.phase;
    if (before === status.phase) return;
    if (status.phase === 'Running') {
      await this.event(execution, 'Normal', 'Started', status.message || 'Started');
    } else if (isTerminal(status.phase)) {
      this.hooks.onFinished?.(execution, status);
      const type = status.phase === 'Succeeded' ? 'Normal' : 'Warning';
      await this.event(execution, type, status.reason ?? 'Finished', status.message || status.phase);
    }
  }
}

function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

/** The pod if this Execution controls it; a pod of an earlier Execution with the same name is not. */
function ownPod(pod: V1Pod | null | undefined, execution: Execution): V1Pod | null {
  if (!pod) return null;
  const owner = pod.metadata?.ownerReferences?.find((ref) => ref.controller);
  return owner?.uid === execution.metadata.uid ? pod : null;
}

/** The pod ended, or it is being cancelled after it started: time to read what it wrote. */
function hasEnded(pod: V1Pod, execution: Execution): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return true;
  return execution.spec.cancel === true;
}

function containerStarted(pod: V1Pod, name: string): boolean {
  const statuses = name === CONTAINER.compile ? pod.status?.initContainerStatuses : pod.status?.containerStatuses;
  const state = statuses?.find((status) => status.name === name)?.state;
  return state?.running !== undefined || state?.terminated !== undefined;
}

export function ttlExpiry(execution: Execution): Date | undefined {
  const ttl = execution.spec.ttlSecondsAfterFinished;
  const finishedAt = toDate(execution.status?.finishedAt);
  if (ttl === undefined || !finishedAt) return undefined;
  return new Date(finishedAt.getTime() + ttl * 1000);
}

/** When a waiting Execution must be looked at again even if no event arrives. */
export function recheck(execution: Execution, observed: Observation, now: Date, policy: Policy): ReconcileResult {
  const created = toDate(execution.metadata.creationTimestamp) ?? now;
  const deadlines: number[] = [];
  if (!observed.runtimeFound) deadlines.push(created.getTime() + policy.status.runtimeMissingSeconds * 1000);
  const pod = observed.pod;
  if (pod && pod.status?.phase === 'Pending') {
    const podCreated = toDate(pod.metadata?.creationTimestamp) ?? now;
    deadlines.push(podCreated.getTime() + policy.status.podStartTimeoutSeconds * 1000);
  }
  // The kubelet ends a pod at its deadline; look once more after it, in case the node did not.
  const started = toDate(pod?.status?.startTime);
  const deadline = pod?.spec?.activeDeadlineSeconds;
  if (started && deadline !== undefined) {
    deadlines.push(started.getTime() + (deadline + policy.status.deadlineGraceSeconds) * 1000);
  }
  const next = Math.min(...deadlines);
  if (!Number.isFinite(next)) return {};
  return { requeueAfterMs: Math.max(1000, next - now.getTime() + 1000) };
}
