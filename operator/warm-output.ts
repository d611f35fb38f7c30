import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { Limits } from '../contract/index.js';
import { CONTAINER } from '../contract/objects.js';
import { parseTestFrames } from '../sandbox/launcher/frames.js';
import { type LaunchReport, launcherExitCode } from '../sandbox/launcher/report.js';
import { parseWarmLog, splitEndFrame, type WarmLog } from '../sandbox/launcher/warm-log.js';
import type { StatusPolicy } from './config.js';
import { type CapturedOutput, captureOutput, decodeBounded, type LogRead, testsLogBytes } from './output.js';
import type { ExecutionPlan } from './plan.js';
import { CLAIMED_AT_ANNOTATION, NONCE_ANNOTATION } from './warm-pool.js';

// A claimed warm pod seen as a cold one, so the rest of the operator judges it the same way: its
// one container started when it was claimed (not when the pool made it), and its compile step,
// which ran inside that container and left its report in the log (sandbox/launcher/warm-log.ts),
// shows as the compile init container a cold pod has.

/** The most bytes the launcher adds to the run's stdout: the compile step before, the report after. */
export function frameBytes(plan: ExecutionPlan): number {
  const compileOutput = plan.compileLimits?.outputBytes ?? 0;
  return Math.ceil((compileOutput * 4) / 3) + 80 * (4 + Math.ceil(compileOutput / 65_536)) + 8192;
}

export const nonceOf = (pod: V1Pod) => pod.metadata?.annotations?.[NONCE_ANNOTATION] ?? '';

/** The most bytes of a warm pod's stdout: the run's output (every test's frames), and frameBytes. */
export function warmStdoutBytes(plan: ExecutionPlan): number {
  const tests = plan.tests?.length;
  return (tests ? testsLogBytes(plan, tests) : plan.limits.outputBytes + 1) + frameBytes(plan);
}

export function warmLogReads(plan: ExecutionPlan, policy: StatusPolicy): LogRead[] {
  const limitBytes = plan.limits.outputBytes + 1;
  const stdout = { part: 'stdout', container: CONTAINER.run, limitBytes: warmStdoutBytes(plan) } as const;
  // Tests are framed on stdout alone, as on a cold pod (logReads); stderr has only the launcher's.
  if (plan.tests) return [{ ...stdout, stream: policy.splitStreams ? 'Stdout' : 'All' }];
  return policy.splitStreams
    ? [
        { ...stdout, stream: 'Stdout' },
        { part: 'stderr', container: CONTAINER.run, stream: 'Stderr', limitBytes },
      ]
    : [{ ...stdout, stream: 'All' }];
}

export interface WarmCapture {
  output: CapturedOutput;
  log: WarmLog;
  report?: LaunchReport;
  /**
   * Bytes of the run's output in what was read, to hold against the report's outputBytes: the
   * run's stdout and stderr, or with tests the payloads of their output frames (undefined when
   * the frames are not intact).
   */
  forwarded?: number;
}

/**
 * The run's output between the launcher's frames, the compile step's log and report, and the
 * launcher's last report when stdout ends with it (labelled with the pod's nonce). With `tests`,
 * the run's part is the tests' frames, read as a cold pod's (captureOutput with tests).
 */
export function captureWarmOutput(
  logs: Partial<Record<LogRead['part'], Uint8Array>>,
  limits: Limits,
  policy: StatusPolicy,
  nonce = '',
  tests?: number,
): WarmCapture {
  const stdout = logs.stdout ?? new Uint8Array();
  const log = parseWarmLog(stdout);
  const end = splitEndFrame(stdout.subarray(log.prefixLength), nonce);
  const run = tests ? { stdout: end.output } : { stdout: end.output, ...(logs.stderr ? { stderr: logs.stderr } : {}) };
  const output = captureOutput(run, limits, policy, tests);
  if (log.compile) {
    const text = Buffer.concat([log.compile.stdout, log.compile.stderr]);
    output.compile = decodeBounded(text, policy.compileOutputChars).text;
  }
  return {
    output,
    log,
    ...(end.report ? { report: end.report } : {}),
    forwarded: tests ? framedBytes(end.output, tests) : output.runBytes,
  };
}

/** The bytes of the tests' output in their frames; undefined when the frames are cut or mixed. */
function framedBytes(bytes: Uint8Array, tests: number): number | undefined {
  const frames = parseTestFrames(bytes, tests);
  if (!frames.intact) return undefined;
  return frames.tests.reduce((total, test) => total + test.stdout.length + test.stderr.length, 0);
}

/**
 * Whether what came over the attach is all the launcher forwarded: its report counts the bytes of
 * the last step's output. An attach may lose the tail of a stream as it closes; then the kubelet's
 * report and the log are waited for instead.
 */
export function wholeOverAttach(capture: WarmCapture): boolean {
  const { report, log, forwarded } = capture;
  if (!report) return false;
  if (!log.runStarted) {
    const compile = log.compile ? log.compile.stdout.length + log.compile.stderr.length : 0;
    return compile === report.outputBytes;
  }
  // With tests, the report is their sum, whose outputBytes adds up every test's.
  return forwarded === report.outputBytes;
}

/**
 * The pod as the kubelet will report it once it sees the container end, from the launcher's last
 * report read over the attach: the run container terminated with the launcher's exit code and
 * report, the pod Succeeded or Failed. The launcher exits right after that report.
 */
export function endedByLauncher(pod: V1Pod, report: LaunchReport): V1Pod {
  const exitCode = launcherExitCode(report);
  const containerStatuses = (pod.status?.containerStatuses ?? []).map(
    (status): V1ContainerStatus =>
      status.name === CONTAINER.run
        ? {
            ...status,
            ready: false,
            state: {
              terminated: {
                exitCode,
                reason: exitCode === 0 ? 'Completed' : 'Error',
                message: JSON.stringify(report),
                startedAt: new Date(report.startedAt),
                finishedAt: new Date(report.finishedAt),
              },
            },
          }
        : status,
  );
  return { ...pod, status: { ...pod.status, phase: exitCode === 0 ? 'Succeeded' : 'Failed', containerStatuses } };
}

/**
 * The pod as a cold one would look: the run container's start moved to the claim, and, once the
 * log was read, the compile step as an ended init container. A compile step that failed ends the
 * launcher before any run: the run container then shows as never started, as a cold pod's would.
 * `compiled` says the program has a compile step: a launcher that took it and ended before the
 * run, without a word of the compile step in its log, was killed compiling (the pod's OOM killer
 * can beat the launcher's watch of the compiler's memory), and that ended the compile step.
 */
export function warmPodView(pod: V1Pod, log?: WarmLog, compiled = false): V1Pod {
  const claimedAt = pod.metadata?.annotations?.[CLAIMED_AT_ANNOTATION];
  const claimed = claimedAt ? new Date(claimedAt) : undefined;
  const later = (time: Date | undefined) =>
    claimed && (!time || new Date(time).getTime() < claimed.getTime()) ? claimed : time;
  const runEnd = pod.status?.containerStatuses?.find((status) => status.name === CONTAINER.run)?.state?.terminated;
  const killedCompiling = compiled && log?.accepted === true && !log.runStarted && runEnd !== undefined;
  const compileStep: WarmLog['compile'] | { report?: undefined } | undefined =
    log?.compile ?? (killedCompiling ? {} : undefined);
  const containerStatuses = (pod.status?.containerStatuses ?? []).map((status): V1ContainerStatus => {
    if (status.name !== CONTAINER.run || !status.state) return status;
    if (compileStep && !log?.runStarted) return { ...status, state: { waiting: { reason: 'PodInitializing' } } };
    const { running, terminated } = status.state;
    return {
      ...status,
      state: {
        ...status.state,
        ...(running ? { running: { ...running, startedAt: later(running.startedAt) as Date } } : {}),
        ...(terminated ? { terminated: { ...terminated, startedAt: later(terminated.startedAt) as Date } } : {}),
      },
    };
  });
  const report = compileStep?.report;
  // No report: the launcher was killed mid-compile (its deadline, the OOM killer), and the
  // container's end is the compile step's, as a cold pod's compile container would show it.
  const killed = runEnd
    ? {
        exitCode: runEnd.exitCode,
        ...(runEnd.reason ? { reason: runEnd.reason } : {}),
        ...(claimed ? { startedAt: claimed } : {}),
        ...(runEnd.finishedAt ? { finishedAt: runEnd.finishedAt } : {}),
      }
    : { exitCode: 137 };
  const compile: V1ContainerStatus[] = compileStep
    ? [
        {
          name: CONTAINER.compile,
          image: pod.spec?.containers[0]?.image ?? '',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: {
            terminated: report
              ? {
                  exitCode: launcherExitCode(report),
                  message: JSON.stringify(report),
                  startedAt: new Date(report.startedAt),
                  finishedAt: new Date(report.finishedAt),
                }
              : killed,
          },
        },
      ]
    : [];
  return {
    ...pod,
    status: {
      ...pod.status,
      containerStatuses,
      ...(compile.length > 0 ? { initContainerStatuses: compile } : {}),
    },
  };
}
