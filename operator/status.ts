import { boundedMessage, type ExecutionStatus } from '../contract/crd.js';
import { isTerminal } from '../contract/index.js';
import { CONTAINER, type Execution } from '../contract/objects.js';
import { launchReport, reportUsage } from '../sandbox/launcher/report.js';
import { conditionsFor } from './conditions.js';
import type { StatusPolicy } from './config.js';
import { containerStatus, firstStart, runDurationMs } from './containers.js';
import { judgedOutcome, judgedTests } from './judging.js';
import type { Observation } from './observation.js';
import { takesStdinRecords } from './pod.js';
import { outcomeOf } from './pod-progress.js';
import { formatDuration, rfc3339, toDate } from './time.js';
import { isWarm } from './warm-pool.js';

// The status of an Execution, rebuilt from what the operator sees on every pass. Pure: the clock
// is a parameter and nothing here reads the API. A status already terminal is kept as it is.

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
  const observedOutcome = outcomeOf(execution, observed, plan, now, policy);
  const pod = observed.pod;
  const run = containerStatus(pod, CONTAINER.run, false);
  const terminal = isTerminal(observedOutcome.phase);
  const output = terminal ? observed.output : undefined;
  const judged = judgedTests(observedOutcome, execution.spec, output, plan?.limits);
  const outcome = judged?.outcome ?? judgedOutcome(observedOutcome, execution.spec, output);
  const startedAt = firstStart(pod);
  const runEnd = run?.state?.terminated;
  const report = launchReport(runEnd);
  const durationMs = judged?.usage?.wallTimeMs ?? report?.durationMs ?? runDurationMs(runEnd);
  const status: ExecutionStatus = {
    phase: outcome.phase,
    reason: outcome.reason,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    message: boundedMessage(outcome.message),
    startedAt: startedAt ? rfc3339(startedAt) : null,
    finishedAt: terminal ? rfc3339(toDate(run?.state?.terminated?.finishedAt) ?? now) : null,
    durationMs,
    duration: durationMs === null ? null : formatDuration(durationMs),
    ...(outcome.compile ? { compile: outcome.compile } : {}),
    stdout: output?.stdout ?? '',
    stderr: output?.stderr ?? '',
    // The launcher cuts output at the limit itself, so the logs alone no longer show it was cut.
    truncated: (output?.truncated ?? false) || (terminal && report?.limit === 'output'),
    usage: judged ? judged.usage : terminal && report ? reportUsage(report) : null,
    ...(judged
      ? {
          tests: judged.tests,
          summary: judged.summary,
          testsPassed: `${judged.summary.passed}/${judged.summary.total}`,
        }
      : {}),
    podName: pod?.metadata?.name ?? previous?.podName ?? null,
    ...(isWarm(pod) || previous?.warm ? { warm: true } : {}),
    ...(takesStdinRecords(pod) || previous?.stdinRecords ? { stdinRecords: true } : {}),
    observedGeneration: execution.metadata.generation ?? 0,
    conditions: [],
  };
  status.conditions = conditionsFor(execution, observed, outcome, now);
  return status;
}

function isCompleteStatus(status: Partial<ExecutionStatus>): status is ExecutionStatus {
  return status.reason !== undefined && status.conditions !== undefined;
}
