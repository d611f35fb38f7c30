import type { V1ContainerState, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { ExecutionSpec } from '../../contract/crd.js';
import type { Execution, Runtime } from '../../contract/objects.js';
import { type Policy, parseOperatorConfig } from '../../operator/config.js';
import type { LaunchReport } from '../../sandbox/launcher/report.js';

// Objects for the operator's unit tests, built the way the API server would hand them over.

export const T0 = new Date('2026-01-01T10:00:00Z');
export const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

export function policy(overrides: Record<string, unknown> = {}): Policy {
  return parseOperatorConfig(overrides);
}

export function execution(spec: Partial<ExecutionSpec> = {}, extra: Partial<Execution> = {}): Execution {
  return {
    apiVersion: 'sandpod.dev/v1alpha1',
    kind: 'Execution',
    metadata: {
      name: 'hello',
      namespace: 'tenant-a',
      uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
      generation: 1,
      creationTimestamp: T0,
    },
    spec: { runtime: 'python', source: 'print(1)\n', ...spec },
    ...extra,
  };
}

export function runtime(spec: Partial<Runtime['spec']> = {}, name = 'python'): Runtime {
  return {
    apiVersion: 'sandpod.dev/v1alpha1',
    kind: 'Runtime',
    metadata: { name },
    spec: {
      image: 'sandpod.local/runtime-python:dev',
      fileName: 'main.py',
      run: ['python3', 'main.py'],
      version: '3.11',
      ...spec,
    },
  };
}

export const cRuntime = () =>
  runtime(
    {
      image: 'sandpod.local/runtime-c:dev',
      fileName: 'main.c',
      compile: ['gcc', '-o', '/sandpod/build/main', 'main.c'],
      run: ['/sandpod/build/main'],
      version: 'gcc-12',
    },
    'c',
  );

export function container(name: string, state: V1ContainerState): V1ContainerStatus {
  return { name, state, image: 'sandpod.local/runtime-python:dev', imageID: '', ready: false, restartCount: 0 };
}

export const terminated = (exitCode: number, reason = exitCode === 0 ? 'Completed' : 'Error', seconds = [1, 3]) => ({
  terminated: { exitCode, reason, startedAt: at(seconds[0] ?? 1), finishedAt: at(seconds[1] ?? 3) },
});

/** A pod as the kubelet reports it. */
export function pod(status: V1Pod['status'], createdSecondsAfterT0 = 0): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'hello-run', namespace: 'tenant-a', creationTimestamp: at(createdSecondsAfterT0) },
    status,
  };
}

/** A report sandpod-launch writes for a step that ended by itself with exit code 0. */
export const LAUNCH_REPORT: LaunchReport = {
  sandpodLaunch: 1,
  startedAt: '2026-01-01T10:00:01.250Z',
  finishedAt: '2026-01-01T10:00:01.260Z',
  durationMs: 10,
  cpuMs: 4,
  memoryPeakKiB: 2048,
  outputBytes: 2,
  limit: null,
  exitCode: 0,
  signal: null,
  error: null,
};
