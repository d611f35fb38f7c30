import type { V1ContainerStateTerminated, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import {
  type CompileOutcome,
  compileVerdict,
  type Limits,
  limitOf,
  runVerdict,
  type StepLimit,
  type StepReport,
  signalName,
} from '../contract/index.js';
import { CONTAINER } from '../contract/objects.js';
import { type LaunchReport, launchReport, reportUsage } from '../sandbox/launcher/report.js';
import { containerStatus, exitOf, hasStarted, runDurationMs, whyWaiting } from './containers.js';
import { ended, failed, type Outcome } from './outcome.js';
import type { CapturedOutput } from './output.js';
import type { ExecutionPlan } from './plan.js';

// How an ended pod's execution went. What the kubelet alone can tell (eviction, a lost or
// unstartable container, a pod that never got going) is judged here; every step's own end is put
// as a StepReport and judged by the contract's verdict, as embedded mode does.

/** Every way a pod ends, most specific first. */
export function endedPod(pod: V1Pod, plan: ExecutionPlan | undefined, output: CapturedOutput | undefined): Outcome {
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
    return withCompile(ended(runVerdict(limitReport('output'), limits)));
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
    return withCompile(ended(runVerdict(limitReport('wall'), limits)));
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
  if (run.reason === 'ContainerStatusUnknown') {
    return failed('SystemError', `the node lost the program's container: ${run.message ?? run.reason}`);
  }
  if (exitUnseen(run, report)) {
    return failed('SystemError', `the node's container runtime did not see the program end: ${UNSEEN_EXIT}`);
  }
  if (run.reason === 'ContainerCannotRun' || run.reason === 'StartError') {
    const message = run.message ?? run.reason;
    // The argv is at fault only when the runtime could not exec it; else the runtime itself failed
    // (a shim killed or a start cancelled by a containerd or kubelet restart).
    const why = EXEC_FAILURE.test(message) ? "check the Runtime's run argv" : "the node's container runtime failed";
    return failed('SystemError', `the program could not start: ${message}; ${why}`);
  }
  const step = stepReport(run, report);
  const verdict = runVerdict(step, limits);
  // The launcher and the kernel stop a step at a limit with SIGKILL; RLIMIT_CPU's is SIGXCPU.
  const signal = step.limitHit === null ? step.signal : 'SIGKILL';
  const exitCode = limitOf(step) === null && step.signal === null ? step.exitCode : null;
  return { ...ended(verdict), exitCode, signal };
}

function compileFailure(
  status: V1ContainerStatus,
  report: LaunchReport | undefined,
  podReason: string | undefined,
  plan: ExecutionPlan | undefined,
  pod: V1Pod,
): Outcome {
  const end = status.state?.terminated;
  if (!hasStarted(status.state)) {
    return failed('SystemError', `the compiler never started: ${podReason ?? 'pod failed'}; ${whyWaiting(pod)}`);
  }
  // A pod deadline with no report from the compiler's launcher: it did not finish in time.
  const deadline = podReason === 'DeadlineExceeded' && !report && end?.exitCode !== 0;
  if (!end && !deadline) {
    return failed('SystemError', `the pod failed before compiling finished: ${podReason ?? 'unknown'}`);
  }
  if (end && exitUnseen(end, report)) {
    return failed('SystemError', `the node's container runtime did not see the compiler end: ${UNSEEN_EXIT}`);
  }
  const step = end ? stepReport(end, report) : limitReport('wall');
  if (deadline && step.limitHit === null) step.limitHit = 'wall';
  const verdict = compileVerdict(step, plan?.compileLimits);
  if (!verdict) return failed('SystemError', 'the compiler succeeded, yet the pod failed');
  const exitCode = limitOf(step) === null && verdict.reason === 'CompileError' ? (end?.exitCode ?? null) : null;
  return { ...ended(verdict), exitCode };
}

/** What runc and runsc say when the argv itself cannot be executed. */
const EXEC_FAILURE = /not found|no such file or directory|permission denied|exec format error/i;

const UNSEEN_EXIT =
  'it reported exit code 255, reason Unknown, as containerd does for a task that ended while it was down; the output may be incomplete';

/**
 * containerd's word for a task that ended while it was down: it reports exit code 255 with
 * reason Unknown, whatever the launcher exited with. A report the exit code does not vouch for
 * is not trusted (the program can write the file), so the step's end is not known.
 */
function exitUnseen(end: V1ContainerStateTerminated, report: LaunchReport | undefined): boolean {
  return end.reason === 'Unknown' && end.exitCode === 255 && report === undefined;
}

/** A step the sandbox ended at one of its limits. */
function limitReport(limit: StepLimit): StepReport {
  return { cancelled: false, startError: null, limitHit: limit, exitCode: null, signal: null };
}

/** A step's end as the launcher reported it, or as the kubelet saw it where there is no report. */
function stepReport(end: V1ContainerStateTerminated, report: LaunchReport | undefined): StepReport {
  // The kernel's kill at the container's cgroup limit, or the launcher's at the sandbox's count.
  const memory = end.reason === 'OOMKilled' || report?.limit === 'memory';
  const exit = report
    ? { exitCode: report.exitCode, signal: report.signal === null ? null : signalName(report.signal) }
    : exitOf(end);
  return {
    cancelled: false,
    startError: report?.error ?? null,
    limitHit: memory ? 'memory' : (report?.limit ?? null),
    exitCode: exit.exitCode,
    signal: exit.signal,
    ...(report?.limit === 'cpu' ? { cpuMs: report.cpuMs } : {}),
  };
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
    ...(report ? { usage: reportUsage(report) } : {}),
  };
}
