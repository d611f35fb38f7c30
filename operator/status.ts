import { isDeepStrictEqual } from 'node:util';
import type { V1ContainerState, V1ContainerStateTerminated, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { type Condition, type ExecutionStatus, STATUS_BOUNDS } from '../contract/crd.js';
import { type CompileOutcome, isTerminal, type Limits, type Phase, phaseFor, type Reason } from '../contract/index.js';
import { CONTAINER, type Execution } from '../contract/objects.js';
import { type LaunchReport, launchReport } from '../sandbox/launcher/report.js';
import type { StatusPolicy } from './config.js';
import type { CapturedOutput } from './output.js';
import type { ExecutionPlan } from './plan.js';

// The status of an Execution, rebuilt from what the operator sees on every pass. Pure: the clock
// is a parameter and nothing here reads the API. The checks run in a fixed order: already done,
// the pod ended, cancelled, cannot run, pod lost, waiting, running.

/** What the reconciler found this pass. */
export interface Observation {
  /** Whether a Runtime with the spec's name or alias exists. */
  runtimeFound: boolean;
  /** The checked plan, or why the spec cannot run; absent while the Runtime is missing. */
  plan?: { ok: true; plan: ExecutionPlan } | { ok: false; message: string };
  /** The pod, or null when a live read confirmed it does not exist. */
  pod: V1Pod | null;
  /** Output read from a finished pod's logs. */
  output?: CapturedOutput;
  /** A permanent failure creating a child, said so a person can act on it. */
  createError?: string;
  /** Place in the namespace's line when its cap on running executions is reached. */
  queuePosition?: number;
}

export const CONDITION = { accepted: 'Accepted', running: 'Running', succeeded: 'Succeeded' } as const;

/** Waiting reasons that no amount of waiting fixes. */
const HOPELESS_WAITING = new Set(['ErrImageNeverPull', 'InvalidImageName']);
/** Waiting reasons that may clear up, until podStartTimeoutSeconds says they will not. */
const STUCK_WAITING = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'ContainerCreating',
  'PodInitializing',
]);

interface Outcome {
  phase: Phase;
  reason: Reason | null;
  message: string;
  exitCode: number | null;
  signal: string | null;
  compile?: CompileOutcome;
}

export function statusFrom(
  execution: Execution,
  observed: Observation,
  now: Date,
  policy: StatusPolicy,
): ExecutionStatus {
  const previous = execution.status;
  if (previous?.phase && isTerminal(previous.phase) && isCompleteStatus(previous)) {
    return { ...previous, observedGeneration: execution.metadata.generation ?? previous.observedGeneration };
  }
  const plan = observed.plan?.ok ? observed.plan.plan : undefined;
  const outcome = outcomeOf(execution, observed, plan, now, policy);
  const pod = observed.pod;
  const run = containerStatus(pod, CONTAINER.run, false);
  const terminal = isTerminal(outcome.phase);
  const output = terminal ? observed.output : undefined;
  const startedAt = firstStart(pod);
  const runEnd = run?.state?.terminated;
  const report = launchReport(runEnd);
  const durationMs = report?.durationMs ?? runDurationMs(runEnd);
  const status: ExecutionStatus = {
    phase: outcome.phase,
    reason: outcome.reason,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    message: bounded(outcome.message),
    startedAt: startedAt ? rfc3339(startedAt) : null,
    finishedAt: terminal ? rfc3339(toDate(run?.state?.terminated?.finishedAt) ?? now) : null,
    durationMs,
    duration: durationMs === null ? null : formatDuration(durationMs),
    ...(outcome.compile ? { compile: outcome.compile } : {}),
    stdout: output?.stdout ?? '',
    stderr: output?.stderr ?? '',
    // The launcher cuts output at the limit itself, so the logs alone no longer show it was cut.
    truncated: (output?.truncated ?? false) || (terminal && report?.limit === 'output'),
    podName: pod?.metadata?.name ?? previous?.podName ?? null,
    observedGeneration: execution.metadata.generation ?? 0,
    conditions: [],
  };
  status.conditions = conditionsFor(execution, observed, outcome, now);
  return status;
}

/** Write status only when this returns true; it ignores nothing, since times are kept stable. */
export function statusChanged(current: Partial<ExecutionStatus> | undefined, next: ExecutionStatus): boolean {
  return !isDeepStrictEqual(normalize(current ?? {}), normalize(next));
}

function normalize(status: Partial<ExecutionStatus>): unknown {
  return withoutNulls(JSON.parse(JSON.stringify(status)));
}

/**
 * Status as written: fields without a value are left out rather than null, as Kubernetes objects
 * do (the API server also checks a null against an enum and refuses it). Readers treat a missing
 * field as the outcome model's null.
 */
export function withoutNulls<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutNulls) as T;
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, field]) => field !== null && field !== undefined)
      .map(([key, field]) => [key, withoutNulls(field)]),
  ) as T;
}

function isCompleteStatus(status: Partial<ExecutionStatus>): status is ExecutionStatus {
  return status.reason !== undefined && status.conditions !== undefined;
}

function outcomeOf(
  execution: Execution,
  observed: Observation,
  plan: ExecutionPlan | undefined,
  now: Date,
  policy: StatusPolicy,
): Outcome {
  const pod = observed.pod;
  const podPhase = pod?.status?.phase;
  if (pod && (podPhase === 'Succeeded' || podPhase === 'Failed')) return endedPod(pod, plan, observed.output);
  if (execution.spec.cancel === true) return failed('Cancelled', 'cancelled by spec.cancel');
  if (observed.plan && !observed.plan.ok) return failed('SystemError', observed.plan.message);
  if (!observed.runtimeFound) {
    const waited = secondsSince(execution.metadata.creationTimestamp, now);
    const message = `no Runtime named ${execution.spec.runtime}; see kubectl get runtimes.sandpod.dev`;
    return waited >= policy.runtimeMissingSeconds ? failed('SystemError', message) : pending(message);
  }
  if (observed.createError) return failed('SystemError', observed.createError);
  if (!pod) {
    if (execution.status?.podName) {
      return failed('SystemError', `pod ${execution.status.podName} was deleted before the execution finished`);
    }
    if (observed.queuePosition) {
      return pending(`queued: ${observed.queuePosition} in line for this namespace's cap on running executions`);
    }
    return pending('creating the pod');
  }
  const overdue = overdueSeconds(pod, now, policy);
  if (overdue > 0) {
    return failed(
      'SystemError',
      `the node did not stop the pod ${overdue}s after its deadline of ${pod.spec?.activeDeadlineSeconds}s; check the node's container runtime`,
    );
  }
  if (isCompiling(pod)) return running('compiling');
  if (podPhase === 'Running') return running('running');
  return waitingPod(pod, now, policy);
}

function waitingPod(pod: V1Pod, now: Date, policy: StatusPolicy): Outcome {
  const waited = secondsSince(pod.metadata?.creationTimestamp, now);
  const timedOut = waited >= policy.podStartTimeoutSeconds;
  for (const status of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = status.state?.waiting;
    if (!waiting?.reason) continue;
    const detail = `container ${status.name} is waiting: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}`;
    if (HOPELESS_WAITING.has(waiting.reason)) {
      return failed('SystemError', `${detail}; the Runtime's image ${status.image ?? ''} is not on the node`);
    }
    if (STUCK_WAITING.has(waiting.reason) && timedOut) {
      return failed('SystemError', `${detail} for ${waited}s; check the Runtime's image and the node`);
    }
  }
  const scheduled = pod.status?.conditions?.find((condition) => condition.type === 'PodScheduled');
  if (scheduled?.status === 'False') {
    const detail = `pod cannot be scheduled: ${scheduled.message ?? scheduled.reason ?? 'no reason given'}`;
    if (timedOut) {
      return failed('SystemError', `${detail} for ${waited}s; add capacity or lower the execution's limits`);
    }
    return pending(detail);
  }
  if (timedOut) return failed('SystemError', `pod did not start within ${policy.podStartTimeoutSeconds}s`);
  return pending('starting the pod');
}

/** Every way a pod ends, most specific first. */
function endedPod(pod: V1Pod, plan: ExecutionPlan | undefined, output: CapturedOutput | undefined): Outcome {
  const podReason = pod.status?.reason;
  const podMessage = pod.status?.message ?? '';
  const limits = plan?.limits;
  const compileStatus = containerStatus(pod, CONTAINER.compile, true);
  const compileEnd = compileStatus?.state?.terminated;
  const compileReport = launchReport(compileEnd);
  const compile = compileStatus ? compileOutcome(compileEnd, compileReport, output) : undefined;
  const withCompile = (outcome: Outcome): Outcome => (compile ? { ...outcome, compile } : outcome);

  if (podReason === 'Evicted') {
    if (/ephemeral|EmptyDir|local storage/i.test(podMessage)) {
      return withCompile(
        failed('OutputLimitExceeded', `wrote more than its output or scratch limit allows; evicted: ${podMessage}`),
      );
    }
    return withCompile(failed('SystemError', `the node evicted the pod: ${podMessage || 'no reason given'}`));
  }
  if (compileStatus && compileEnd?.exitCode !== 0) {
    return withCompile(compileFailure(compileStatus, compileReport, podReason, plan, pod));
  }
  const runState = containerStatus(pod, CONTAINER.run, false)?.state;
  const run = runState?.terminated;
  const report = launchReport(run);
  if (output?.outputLimitExceeded || report?.limit === 'output') {
    return withCompile(
      failed(
        'OutputLimitExceeded',
        `wrote more than ${limits ? `${limits.outputBytes} bytes` : 'its limit'} of output`,
      ),
    );
  }
  // The launcher ends the step at its own wall limit, before the pod's deadline, which then only
  // catches a step that never got going or a launcher that did not answer.
  if (podReason === 'DeadlineExceeded' && !(run && report)) {
    // The deadline counts from the pod's start, so a sandbox that never came up hits it too.
    if (!hasStarted(runState)) {
      return withCompile(
        failed('SystemError', `the program never started before the pod's deadline; ${whyWaiting(pod)}`),
      );
    }
    return withCompile(failed('TimeLimitExceeded', `did not finish within ${wallText(limits)} of wall time`));
  }
  if (!run) {
    return withCompile(
      failed('SystemError', `pod failed before the program ran: ${podReason ?? 'unknown'} ${podMessage}`.trim()),
    );
  }
  return withCompile(runOutcome(run, report, limits));
}

function runOutcome(
  run: V1ContainerStateTerminated,
  report: LaunchReport | undefined,
  limits: Limits | undefined,
): Outcome {
  // The kernel's kill at the container's cgroup limit, or the launcher's at the sandbox's count.
  if (run.reason === 'OOMKilled' || report?.limit === 'memory') {
    return {
      ...failed('MemoryLimitExceeded', `used more than ${limits ? `${limits.memoryMiB} MiB` : 'its limit'} of memory`),
      signal: 'SIGKILL',
    };
  }
  if (run.reason === 'ContainerStatusUnknown') {
    return failed('SystemError', `the node lost the program's container: ${run.message ?? run.reason}`);
  }
  if (run.reason === 'ContainerCannotRun' || run.reason === 'StartError') {
    return failed(
      'SystemError',
      `the program could not start: ${run.message ?? run.reason}; check the Runtime's run argv`,
    );
  }
  if (report?.error) {
    return failed('SystemError', `the program could not start: ${report.error}; check the Runtime's run argv`);
  }
  if (report?.limit === 'wall') {
    return {
      ...failed('TimeLimitExceeded', `did not finish within ${wallText(limits)} of wall time`),
      signal: 'SIGKILL',
    };
  }
  if (report?.limit === 'cpu') {
    return { ...cpuExceeded(limits, report.cpuMs), signal: 'SIGKILL' };
  }
  const signal = report ? (report.signal === null ? null : signalName(report.signal)) : signalOf(run);
  // RLIMIT_CPU stays as a per-process backstop behind the launcher's count.
  if (signal === 'SIGXCPU') return { ...cpuExceeded(limits), signal };
  if (signal) return { ...failed('Signaled', `killed by ${signal}`), signal };
  if (run.exitCode === 0)
    return { phase: 'Succeeded', reason: 'Completed', message: 'exited with code 0', exitCode: 0, signal: null };
  return { ...failed('NonZeroExit', `exited with code ${run.exitCode}`), exitCode: run.exitCode };
}

/** The launcher's count says how far past the limit the step got before it was killed. */
const cpuExceeded = (limits: Limits | undefined, usedMs?: number): Outcome =>
  failed(
    'TimeLimitExceeded',
    `used more than ${limits ? `${limits.cpuTimeMs} ms` : 'its limit'} of CPU time${usedMs === undefined ? '' : ` (${usedMs} ms when stopped)`}`,
  );

function compileFailure(
  status: V1ContainerStatus,
  report: LaunchReport | undefined,
  podReason: string | undefined,
  plan: ExecutionPlan | undefined,
  pod: V1Pod,
): Outcome {
  const limits = plan?.compileLimits;
  const end = status.state?.terminated;
  if (!hasStarted(status.state)) {
    return failed('SystemError', `the compiler never started: ${podReason ?? 'pod failed'}; ${whyWaiting(pod)}`);
  }
  if (end?.reason === 'OOMKilled' || report?.limit === 'memory') {
    return failed(
      'CompileError',
      `the compiler used more than ${limits ? `${limits.memoryMiB} MiB` : 'its limit'} of memory`,
    );
  }
  if (report?.error) {
    return failed('SystemError', `the compiler could not start: ${report.error}; check the Runtime's compile argv`);
  }
  if (report?.limit === 'wall' || (podReason === 'DeadlineExceeded' && !report && end?.exitCode !== 0)) {
    return failed('CompileError', `the compiler did not finish within ${wallText(limits)}`);
  }
  if (report?.limit === 'output') {
    return failed(
      'CompileError',
      `the compiler wrote more than ${limits ? `${limits.outputBytes} bytes` : 'its limit'} of output`,
    );
  }
  if (!end) return failed('SystemError', `the pod failed before compiling finished: ${podReason ?? 'unknown'}`);
  const signal = report ? (report.signal === null ? null : signalName(report.signal)) : signalOf(end);
  if (report?.limit === 'cpu' || signal === 'SIGXCPU') {
    return failed(
      'CompileError',
      `the compiler used more than ${limits ? `${limits.cpuTimeMs} ms` : 'its limit'} of CPU time`,
    );
  }
  const how = signal ? `was killed by ${signal}` : `exited with code ${end.exitCode}`;
  return { ...failed('CompileError', `the compiler ${how}`), exitCode: end.exitCode ?? null };
}

function compileOutcome(
  end: V1ContainerStateTerminated | undefined,
  report: LaunchReport | undefined,
  output: CapturedOutput | undefined,
): CompileOutcome {
  return {
    exitCode: end?.exitCode ?? null,
    durationMs: report?.durationMs ?? runDurationMs(end) ?? 0,
    output: output?.compile ?? '',
  };
}

function conditionsFor(execution: Execution, observed: Observation, outcome: Outcome, now: Date): Condition[] {
  const generation = execution.metadata.generation ?? 0;
  const make = (type: string, status: Condition['status'], reason: string, message: string): Condition => ({
    type,
    status,
    observedGeneration: generation,
    lastTransitionTime: rfc3339(now),
    reason,
    message: bounded(message),
  });
  const accepted = !observed.runtimeFound
    ? make(CONDITION.accepted, 'False', 'RuntimeNotFound', `no Runtime named ${execution.spec.runtime}`)
    : observed.plan && !observed.plan.ok
      ? make(CONDITION.accepted, 'False', 'InvalidSpec', observed.plan.message)
      : make(CONDITION.accepted, 'True', 'Accepted', '');
  const terminal = isTerminal(outcome.phase);
  const runningNow = outcome.phase === 'Running';
  const running = make(
    CONDITION.running,
    runningNow ? 'True' : 'False',
    runningNow ? 'Running' : terminal ? 'Finished' : observed.queuePosition ? 'Queued' : 'Pending',
    runningNow || !terminal ? outcome.message : '',
  );
  const succeeded = terminal
    ? make(
        CONDITION.succeeded,
        outcome.phase === 'Succeeded' ? 'True' : 'False',
        outcome.reason ?? 'Unknown',
        outcome.message,
      )
    : make(CONDITION.succeeded, 'Unknown', outcome.phase, outcome.message);
  const previous = execution.status?.conditions ?? [];
  return [accepted, running, succeeded].map((condition) => keepTransitionTime(condition, previous));
}

/** A condition whose status did not change keeps the time it last changed. */
export function keepTransitionTime(condition: Condition, previous: readonly Condition[]): Condition {
  const before = previous.find((candidate) => candidate.type === condition.type);
  if (before && before.status === condition.status) {
    return { ...condition, lastTransitionTime: before.lastTransitionTime };
  }
  return condition;
}

const failed = (reason: Reason, message: string): Outcome => ({
  phase: phaseFor(reason),
  reason,
  message,
  exitCode: null,
  signal: null,
});
const pending = (message: string): Outcome => ({
  phase: 'Pending',
  reason: null,
  message,
  exitCode: null,
  signal: null,
});
const running = (message: string): Outcome => ({
  phase: 'Running',
  reason: null,
  message,
  exitCode: null,
  signal: null,
});

function containerStatus(pod: V1Pod | null, name: string, init: boolean): V1ContainerStatus | undefined {
  const statuses = init ? pod?.status?.initContainerStatuses : pod?.status?.containerStatuses;
  return statuses?.find((status) => status.name === name);
}

/** Seconds past its deadline and grace that a pod is still not ended; 0 when it is not late. */
export function overdueSeconds(pod: V1Pod, now: Date, policy: StatusPolicy): number {
  const started = toDate(pod.status?.startTime);
  const deadline = pod.spec?.activeDeadlineSeconds;
  if (!started || deadline === undefined) return 0;
  const late = secondsSince(started, now) - deadline - policy.deadlineGraceSeconds;
  return late > 0 ? late + policy.deadlineGraceSeconds : 0;
}

/** Whether the container ever ran; the kubelet reports a lost one as ContainerStatusUnknown. */
function hasStarted(state: V1ContainerState | undefined): boolean {
  if (state?.running) return true;
  const end = state?.terminated;
  return end !== undefined && end.reason !== 'ContainerStatusUnknown' && end.startedAt !== undefined;
}

/** The last thing a container waited for, for a message about a pod that never got going. */
function whyWaiting(pod: V1Pod): string {
  for (const status of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = status.state?.waiting;
    if (waiting?.reason)
      return `container ${status.name} was waiting: ${waiting.reason} ${waiting.message ?? ''}`.trim();
    const end = status.state?.terminated;
    if (end?.reason === 'ContainerStatusUnknown') return `container ${status.name}: ${end.message ?? end.reason}`;
  }
  return 'see kubectl describe pod and the node for the sandbox start failure';
}

function isCompiling(pod: V1Pod): boolean {
  return containerStatus(pod, CONTAINER.compile, true)?.state?.running !== undefined;
}

function firstStart(pod: V1Pod | null): Date | undefined {
  const compile = containerStatus(pod, CONTAINER.compile, true)?.state;
  const run = containerStatus(pod, CONTAINER.run, false)?.state;
  const candidates = [
    compile?.running?.startedAt,
    compile?.terminated?.startedAt,
    run?.running?.startedAt,
    run?.terminated?.startedAt,
  ]
    .map(toDate)
    .filter((date): date is Date => date !== undefined);
  return candidates.sort((a, b) => a.getTime() - b.getTime())[0];
}

/** Container times have whole seconds only: the fallback where the launcher left no report. */
function runDurationMs(end: V1ContainerStateTerminated | undefined): number | null {
  const started = toDate(end?.startedAt);
  const finished = toDate(end?.finishedAt);
  if (!started || !finished) return null;
  return Math.max(0, finished.getTime() - started.getTime());
}

const SIGNALS = [
  '',
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGKILL',
  'SIGUSR1',
  'SIGSEGV',
  'SIGUSR2',
  'SIGPIPE',
  'SIGALRM',
  'SIGTERM',
  'SIGSTKFLT',
  'SIGCHLD',
  'SIGCONT',
  'SIGSTOP',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
  'SIGURG',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGVTALRM',
  'SIGPROF',
  'SIGWINCH',
  'SIGIO',
  'SIGPWR',
  'SIGSYS',
] as const;

/** The runtime reports a signal death as exit code 128 + n, the way a shell does. */
export function signalName(number: number): string {
  return SIGNALS[number] || `SIG${number}`;
}

function signalOf(end: V1ContainerStateTerminated): string | null {
  if (end.signal) return signalName(end.signal);
  const code = end.exitCode;
  return code > 128 && code <= 128 + 64 ? signalName(code - 128) : null;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(2))}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Math.round((ms % 60_000) / 1000)}s`;
}

function wallText(limits: Limits | undefined): string {
  return limits ? `${limits.wallTimeMs} ms` : 'its limit';
}

function bounded(message: string): string {
  const max = STATUS_BOUNDS.messageChars;
  return message.length <= max ? message : `${message.slice(0, max - 3)}...`;
}

export function toDate(value: Date | string | undefined | null): Date | undefined {
  if (value === undefined || value === null) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function secondsSince(value: Date | string | undefined, now: Date): number {
  const since = toDate(value);
  return since ? Math.floor((now.getTime() - since.getTime()) / 1000) : 0;
}

/** Kubernetes writes times without fractions; so do we, so a re-read status compares equal. */
export function rfc3339(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
