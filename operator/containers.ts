import type { V1ContainerState, V1ContainerStateTerminated, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { signalName, splitExitStatus } from '../contract/index.js';
import { CONTAINER } from '../contract/objects.js';
import { toDate } from './time.js';

// What the kubelet says of an execution pod's two containers.

export function containerStatus(pod: V1Pod | null, name: string, init: boolean): V1ContainerStatus | undefined {
  const statuses = init ? pod?.status?.initContainerStatuses : pod?.status?.containerStatuses;
  return statuses?.find((status) => status.name === name);
}

/** Whether the container ever ran; the kubelet reports a lost one as ContainerStatusUnknown. */
export function hasStarted(state: V1ContainerState | undefined): boolean {
  if (state?.running) return true;
  const end = state?.terminated;
  return end !== undefined && end.reason !== 'ContainerStatusUnknown' && end.startedAt !== undefined;
}

/** The last thing a container waited for, for a message about a pod that never got going. */
export function whyWaiting(pod: V1Pod): string {
  for (const status of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = status.state?.waiting;
    if (waiting?.reason)
      return `container ${status.name} was waiting: ${waiting.reason} ${waiting.message ?? ''}`.trim();
    const end = status.state?.terminated;
    if (end?.reason === 'ContainerStatusUnknown') return `container ${status.name}: ${end.message ?? end.reason}`;
  }
  return 'see kubectl describe pod and the node for the sandbox start failure';
}

export function isCompiling(pod: V1Pod): boolean {
  return containerStatus(pod, CONTAINER.compile, true)?.state?.running !== undefined;
}

export function firstStart(pod: V1Pod | null): Date | undefined {
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
export function runDurationMs(end: V1ContainerStateTerminated | undefined): number | null {
  const started = toDate(end?.startedAt);
  const finished = toDate(end?.finishedAt);
  if (!started || !finished) return null;
  return Math.max(0, finished.getTime() - started.getTime());
}

/** The kubelet's own account of how a container ended, where the launcher left no report. */
export function exitOf(end: V1ContainerStateTerminated): { exitCode: number | null; signal: string | null } {
  if (end.signal) return { exitCode: null, signal: signalName(end.signal) };
  return splitExitStatus(end.exitCode);
}
