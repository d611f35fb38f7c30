import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { executionStatusSchema } from '../../contract/crd.js';
import type { Reason } from '../../contract/index.js';
import type { Observation } from '../../operator/observation.js';
import type { CapturedOutput } from '../../operator/output.js';
import { planExecution } from '../../operator/plan.js';
import { statusFrom } from '../../operator/status.js';
import { statusChanged } from '../../operator/status-write.js';
import { type LaunchReport, launcherExitCode } from '../../sandbox/launcher/report.js';
import { at, container, cRuntime, execution, pod, policy, runtime, terminated } from './fixtures.js';

const statusPolicy = policy().status;
const plan = planExecution(execution(), runtime(), policy());
const cPlan = planExecution(execution({ runtime: 'c' }), cRuntime(), policy());

function observe(p: V1Pod | null, extra: Partial<Observation> = {}): Observation {
  return { runtimeFound: true, plan, pod: p, ...extra };
}

const output = (fields: Partial<CapturedOutput> = {}): CapturedOutput => ({
  stdout: 'hi\n',
  wholeStdout: 'hi\n',
  stderr: '',
  runBytes: 3,
  truncated: false,
  outputLimitExceeded: false,
  ...fields,
});

/** A container that sandpod-launch ended, its report in the termination message. */
function launched(report: Partial<LaunchReport>, exitCode = launcherExitCode({ ...REPORT, ...report })) {
  const end = terminated(exitCode).terminated;
  return { terminated: { ...end, message: `${JSON.stringify({ ...REPORT, ...report })}\n` } };
}
const REPORT: LaunchReport = {
  sandpodLaunch: 1,
  startedAt: '2026-01-01T10:00:01.250Z',
  finishedAt: '2026-01-01T10:00:02.484Z',
  durationMs: 1234,
  cpuMs: 10,
  outputBytes: 3,
  limit: null,
  exitCode: 0,
  signal: null,
  error: null,
};

const failedPod = (reason: string, message: string, extra: V1Pod['status'] = {}) =>
  pod({ phase: 'Failed', reason, message, ...extra });

interface EndCase {
  name: string;
  pod: V1Pod;
  observed?: Partial<Observation>;
  phase: string;
  reason: Reason;
  exitCode?: number | null;
  signal?: string | null;
  message?: RegExp;
}

const endings: EndCase[] = [
  {
    name: 'exit 0',
    pod: pod({ phase: 'Succeeded', containerStatuses: [container('run', terminated(0))] }),
    phase: 'Succeeded',
    reason: 'Completed',
    exitCode: 0,
  },
  {
    name: 'exit 3',
    pod: pod({ phase: 'Failed', containerStatuses: [container('run', terminated(3))] }),
    phase: 'Failed',
    reason: 'NonZeroExit',
    exitCode: 3,
    message: /exited with code 3/,
  },
  {
    name: 'OOMKilled',
    pod: pod({ phase: 'Failed', containerStatuses: [container('run', terminated(137, 'OOMKilled'))] }),
    phase: 'Failed',
    reason: 'MemoryLimitExceeded',
    signal: 'SIGKILL',
    message: /256 MiB/,
  },
  {
    name: 'the pod deadline',
    pod: failedPod('DeadlineExceeded', 'Pod was active on the node longer than the specified deadline', {
      containerStatuses: [container('run', terminated(137))],
    }),
    phase: 'Failed',
    reason: 'TimeLimitExceeded',
    message: /^exceeded the wall time limit of 10000 ms$/,
  },
  {
    name: 'the pod deadline before the sandbox ever started',
    pod: failedPod('DeadlineExceeded', 'Pod was active on the node longer than the specified deadline', {
      containerStatuses: [
        container('run', {
          terminated: {
            exitCode: 137,
            reason: 'ContainerStatusUnknown',
            message: 'The container could not be located when the pod was terminated',
          },
        }),
      ],
    }),
    phase: 'Failed',
    reason: 'SystemError',
    message: /never started.*could not be located/,
  },
  {
    name: 'a container the node lost',
    pod: pod({
      phase: 'Failed',
      containerStatuses: [
        container('run', { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown', startedAt: at(1) } }),
      ],
    }),
    phase: 'Failed',
    reason: 'SystemError',
    message: /lost/,
  },
  {
    name: 'an end containerd did not see (it was down): 255, reason Unknown',
    pod: pod({ phase: 'Failed', containerStatuses: [container('run', terminated(255, 'Unknown'))] }),
    phase: 'Failed',
    reason: 'SystemError',
    exitCode: null,
    message: /container runtime did not see the program end: .*255, reason Unknown/,
  },
  {
    name: 'an end containerd did not see, with a report its 255 does not vouch for',
    pod: pod({
      phase: 'Failed',
      containerStatuses: [
        container('run', { terminated: { ...launched({ exitCode: 0 }).terminated, exitCode: 255, reason: 'Unknown' } }),
      ],
    }),
    phase: 'Failed',
    reason: 'SystemError',
    message: /did not see the program end/,
  },
  {
    name: 'a program that exits 255 itself',
    pod: pod({ phase: 'Failed', containerStatuses: [container('run', launched({ exitCode: 255 }))] }),
    phase: 'Failed',
    reason: 'NonZeroExit',
    exitCode: 255,
    message: /exited with code 255/,
  },
  {
    name: 'SIGXCPU from RLIMIT_CPU',
    pod: pod({ phase: 'Failed', containerStatuses: [container('run', terminated(152))] }),
    phase: 'Failed',
    reason: 'TimeLimitExceeded',
    signal: 'SIGXCPU',
    message: /^exceeded the CPU time limit of 5000 ms$/,
  },
  {
    name: 'SIGSEGV (139)',
    pod: pod({ phase: 'Failed', containerStatuses: [container('run', terminated(139))] }),
    phase: 'Failed',
    reason: 'Signaled',
    exitCode: null,
    signal: 'SIGSEGV',
  },
  {
    name: 'an eviction for ephemeral storage',
    pod: failedPod('Evicted', 'Pod ephemeral local storage usage exceeds the total limit of containers 12Mi.'),
    phase: 'Failed',
    reason: 'OutputLimitExceeded',
    message: /evicted/,
  },
  {
    name: 'an eviction for an emptyDir over its size',
    pod: failedPod('Evicted', 'Usage of EmptyDir volume "tmp" exceeds the limit "64Mi".'),
    phase: 'Failed',
    reason: 'OutputLimitExceeded',
  },
  {
    name: 'an eviction for node memory pressure',
    pod: failedPod('Evicted', 'The node was low on resource: memory.'),
    phase: 'Failed',
    reason: 'SystemError',
    message: /node evicted the pod: The node was low on resource: memory/,
  },
  {
    name: 'output past outputBytes',
    pod: pod({ phase: 'Succeeded', containerStatuses: [container('run', terminated(0))] }),
    observed: { output: output({ runBytes: 1048577, outputLimitExceeded: true, truncated: true }) },
    phase: 'Failed',
    reason: 'OutputLimitExceeded',
    message: /^exceeded the output limit of 1048576 bytes$/,
  },
  {
    name: "the launcher's wall limit",
    pod: pod({ phase: 'Failed', containerStatuses: [container('run', launched({ limit: 'wall', signal: 9 }))] }),
    phase: 'Failed',
    reason: 'TimeLimitExceeded',
    signal: 'SIGKILL',
    message: /^exceeded the wall time limit of 10000 ms$/,
  },
  {
    name: "the launcher's wall limit just as the pod deadline passed",
    pod: failedPod('DeadlineExceeded', 'Pod was active on the node longer than the specified deadline', {
      containerStatuses: [container('run', launched({ limit: 'wall', signal: 9 }))],
    }),
    phase: 'Failed',
    reason: 'TimeLimitExceeded',
    message: /^exceeded the wall time limit of 10000 ms$/,
  },
  {
    name: "the launcher's count of the sandbox's memory",
    pod: pod({
      phase: 'Failed',
      containerStatuses: [container('run', launched({ limit: 'memory', signal: 9 }))],
    }),
    phase: 'Failed',
    reason: 'MemoryLimitExceeded',
    signal: 'SIGKILL',
    message: /^exceeded the memory limit of 256 MiB$/,
  },
  {
    name: "the launcher's count of CPU time over all processes",
    pod: pod({
      phase: 'Failed',
      containerStatuses: [container('run', launched({ limit: 'cpu', signal: 9, cpuMs: 5020 }))],
    }),
    phase: 'Failed',
    reason: 'TimeLimitExceeded',
    signal: 'SIGKILL',
    message: /^exceeded the CPU time limit of 5000 ms \(5020 ms when stopped\)$/,
  },
  {
    name: "the launcher's output cap",
    pod: pod({ phase: 'Failed', containerStatuses: [container('run', launched({ limit: 'output', signal: 9 }))] }),
    phase: 'Failed',
    reason: 'OutputLimitExceeded',
    message: /^exceeded the output limit of 1048576 bytes$/,
  },
  {
    name: 'a program the launcher could not start',
    pod: pod({
      phase: 'Failed',
      containerStatuses: [
        container('run', launched({ error: 'cannot run python3: No such file or directory', exitCode: 127 })),
      ],
    }),
    phase: 'Failed',
    reason: 'SystemError',
    message: /cannot run python3.*run argv/,
  },
  {
    name: 'a program the launcher saw killed by SIGSEGV',
    pod: pod({ phase: 'Failed', containerStatuses: [container('run', launched({ exitCode: null, signal: 11 }))] }),
    phase: 'Failed',
    reason: 'Signaled',
    signal: 'SIGSEGV',
  },
  {
    name: 'a report the program forged (the exit code does not match it)',
    pod: pod({ phase: 'Succeeded', containerStatuses: [container('run', launched({ limit: 'wall' }, 0))] }),
    phase: 'Succeeded',
    reason: 'Completed',
  },
  {
    name: 'a container that could not start',
    pod: pod({
      phase: 'Failed',
      containerStatuses: [
        container('run', {
          terminated: { exitCode: 128, reason: 'StartError', message: 'exec: "python3": not found' },
        }),
      ],
    }),
    phase: 'Failed',
    reason: 'SystemError',
    message: /python3.*run argv/,
  },
  {
    name: 'a container whose start a containerd restart cut short',
    pod: pod({
      phase: 'Failed',
      containerStatuses: [
        container('run', {
          terminated: {
            exitCode: 128,
            reason: 'StartError',
            message: 'failed to create containerd task: failed to start shim: start failed: : signal: killed: unknown',
          },
        }),
      ],
    }),
    phase: 'Failed',
    reason: 'SystemError',
    message: /signal: killed: unknown; the node's container runtime failed$/,
  },
];

describe('statusFrom', () => {
  for (const ending of endings) {
    it(`should end as ${ending.reason} when the pod ended with ${ending.name}`, () => {
      const status = statusFrom(
        execution(),
        observe(ending.pod, { output: output(), ...ending.observed }),
        at(10),
        statusPolicy,
      );
      assert.equal(status.phase, ending.phase);
      assert.equal(status.reason, ending.reason);
      if (ending.exitCode !== undefined) assert.equal(status.exitCode, ending.exitCode);
      if (ending.signal !== undefined) assert.equal(status.signal, ending.signal);
      if (ending.message) assert.match(status.message, ending.message);
      assert.ok(status.finishedAt);
      assert.equal(executionStatusSchema.safeParse(status).success, true, 'status fits the CRD schema');
    });
  }

  it('should carry output, times and duration into a finished status', () => {
    const done = pod({ phase: 'Succeeded', containerStatuses: [container('run', terminated(0, 'Completed', [2, 4]))] });
    const status = statusFrom(
      execution(),
      observe(done, { output: output({ stderr: 'warn\n' }) }),
      at(10),
      statusPolicy,
    );
    assert.equal(status.stdout, 'hi\n');
    assert.equal(status.stderr, 'warn\n');
    assert.equal(status.truncated, false);
    assert.equal(status.startedAt, '2026-01-01T10:00:02Z');
    assert.equal(status.finishedAt, '2026-01-01T10:00:04Z');
    assert.equal(status.durationMs, 2000);
    assert.equal(status.duration, '2s');
    assert.equal(status.podName, 'hello-run');
  });

  it('should say stdinRecords of a pod whose run container keeps stdin open, and keep saying it once the pod is gone', () => {
    const running = pod({ phase: 'Running', containerStatuses: [container('run', { running: {} })] });
    const status = statusFrom(execution(), observe(running), at(3), statusPolicy);
    assert.equal(status.stdinRecords, undefined);
    running.spec = { containers: [{ name: 'run', stdin: true, stdinOnce: false }] };
    const records = statusFrom(execution(), observe(running), at(3), statusPolicy);
    assert.equal(records.stdinRecords, true);
    assert.equal(executionStatusSchema.safeParse(records).success, true, 'status fits the CRD schema');
    const after = statusFrom(execution({}, { status: records }), observe(null), at(4), statusPolicy);
    assert.equal(after.stdinRecords, true);
  });

  it("should take the duration in milliseconds from the launcher's report", () => {
    const done = pod({ phase: 'Succeeded', containerStatuses: [container('run', launched({}))] });
    const status = statusFrom(execution(), observe(done, { output: output() }), at(10), statusPolicy);
    assert.equal(status.reason, 'Completed');
    assert.equal(status.durationMs, 1234);
    assert.equal(status.duration, '1.23s');
  });

  it("should take usage from the launcher's report when the run ends", () => {
    const done = pod({
      phase: 'Succeeded',
      containerStatuses: [container('run', launched({ memoryPeakKiB: 102_400 }))],
    });
    const status = statusFrom(execution(), observe(done, { output: output() }), at(10), statusPolicy);
    assert.deepEqual(status.usage, { cpuTimeMs: 10, wallTimeMs: 1234, memoryPeakMiB: 100 });
  });

  it('should judge the whole stdout against expectedOutput when the run exits 0', () => {
    const done = pod({ phase: 'Succeeded', containerStatuses: [container('run', launched({}))] });
    const long = output({ stdout: 'hi', wholeStdout: 'hi\nthere\n' });
    const accepted = statusFrom(
      execution({ expectedOutput: 'hi\nthere' }),
      observe(done, { output: long }),
      at(10),
      statusPolicy,
    );
    assert.equal(accepted.phase, 'Succeeded');
    assert.equal(accepted.reason, 'Accepted');
    const wrong = statusFrom(
      execution({ expectedOutput: 'hi\nthere', compare: { mode: 'exact' } }),
      observe(done, { output: long }),
      at(10),
      statusPolicy,
    );
    assert.equal(wrong.phase, 'Failed');
    assert.equal(wrong.reason, 'WrongAnswer');
    assert.match(wrong.message, /line 3/);
  });

  it('should mark output truncated when the launcher cut it at the cap', () => {
    const capped = pod({ phase: 'Failed', containerStatuses: [container('run', launched({ limit: 'output' }))] });
    const status = statusFrom(execution(), observe(capped, { output: output() }), at(10), statusPolicy);
    assert.equal(status.reason, 'OutputLimitExceeded');
    assert.equal(status.truncated, true);
  });

  describe('with a compiled runtime', () => {
    const observeC = (p: V1Pod, compileOutput = 'main.c:1: error: expected ;') =>
      ({ runtimeFound: true, plan: cPlan, pod: p, output: output({ compile: compileOutput }) }) as Observation;
    const cases = [
      { name: 'the compiler exits 1', end: terminated(1), message: /compiler exited with code 1/, exitCode: 1 },
      {
        name: 'the compiler is OOMKilled',
        end: terminated(137, 'OOMKilled'),
        message: /^the compiler exceeded the memory limit of 512 MiB$/,
        exitCode: null,
      },
      {
        name: 'the compiler hits RLIMIT_CPU',
        end: terminated(152),
        message: /^the compiler exceeded the CPU time limit of 15000 ms$/,
        exitCode: null,
      },
    ];
    for (const { name, end, message, exitCode } of cases) {
      it(`should end as CompileError with the compiler output when ${name}`, () => {
        const p = pod({
          phase: 'Failed',
          initContainerStatuses: [container('compile', end)],
          containerStatuses: [container('run', { waiting: { reason: 'PodInitializing' } })],
        });
        const status = statusFrom(execution({ runtime: 'c' }), observeC(p), at(30), statusPolicy);
        assert.equal(status.reason, 'CompileError');
        assert.match(status.message, message);
        assert.equal(status.exitCode, exitCode);
        assert.equal(status.compile?.output, 'main.c:1: error: expected ;');
        assert.equal(status.compile?.durationMs, 2000);
      });
    }

    const reportCases = [
      {
        name: 'wall limit',
        report: { limit: 'wall' as const, signal: 9 },
        message: /^the compiler exceeded the wall time limit of 20000 ms$/,
      },
      {
        name: 'CPU count',
        report: { limit: 'cpu' as const, signal: 9 },
        message: /^the compiler exceeded the CPU time limit of 15000 ms/,
      },
      {
        name: 'output cap',
        report: { limit: 'output' as const, signal: 9 },
        message: /^the compiler exceeded the output limit of \d+ bytes$/,
      },
      {
        name: 'memory count',
        report: { limit: 'memory' as const, signal: 9 },
        message: /^the compiler exceeded the memory limit of 512 MiB$/,
      },
    ];
    for (const { name, report, message } of reportCases) {
      it(`should end as CompileError when the launcher's ${name} ended the compiler`, () => {
        const p = pod({
          phase: 'Failed',
          initContainerStatuses: [container('compile', launched(report))],
          containerStatuses: [container('run', { waiting: { reason: 'PodInitializing' } })],
        });
        const status = statusFrom(execution({ runtime: 'c' }), observeC(p), at(30), statusPolicy);
        assert.equal(status.reason, 'CompileError');
        assert.match(status.message, message);
        assert.equal(status.compile?.durationMs, 1234);
      });
    }

    it('should end as CompileError when the deadline hits while compiling', () => {
      const p = pod({
        phase: 'Failed',
        reason: 'DeadlineExceeded',
        initContainerStatuses: [container('compile', { running: { startedAt: at(1) } })],
      });
      const status = statusFrom(execution({ runtime: 'c' }), observeC(p, ''), at(40), statusPolicy);
      assert.equal(status.reason, 'CompileError');
      assert.match(status.message, /^the compiler exceeded the wall time limit of 20000 ms$/);
    });

    it('should end as CompileError when the deadline killed a started compiler', () => {
      const p = pod({
        phase: 'Failed',
        reason: 'DeadlineExceeded',
        initContainerStatuses: [container('compile', terminated(137))],
      });
      const status = statusFrom(execution({ runtime: 'c' }), observeC(p, ''), at(40), statusPolicy);
      assert.equal(status.reason, 'CompileError');
      assert.equal(status.message, 'the compiler exceeded the wall time limit of 20000 ms');
    });

    it('should end as SystemError when containerd did not see the compiler end', () => {
      const p = pod({
        phase: 'Failed',
        initContainerStatuses: [container('compile', terminated(255, 'Unknown'))],
      });
      const status = statusFrom(execution({ runtime: 'c' }), observeC(p, ''), at(40), statusPolicy);
      assert.equal(status.reason, 'SystemError');
      assert.match(status.message, /container runtime did not see the compiler end/);
    });

    it('should end as SystemError when the compiler never started', () => {
      const p = pod({
        phase: 'Failed',
        reason: 'DeadlineExceeded',
        initContainerStatuses: [container('compile', { waiting: { reason: 'ContainerCreating' } })],
      });
      const status = statusFrom(execution({ runtime: 'c' }), observeC(p, ''), at(40), statusPolicy);
      assert.equal(status.reason, 'SystemError');
      assert.match(status.message, /never started.*ContainerCreating/);
    });

    it('should report Running while compiling and keep the compile outcome after a clean run', () => {
      const compiling = pod({
        phase: 'Pending',
        initContainerStatuses: [container('compile', { running: { startedAt: at(1) } })],
      });
      const during = statusFrom(execution({ runtime: 'c' }), observeC(compiling), at(2), statusPolicy);
      assert.equal(during.phase, 'Running');
      assert.equal(during.message, 'compiling');
      const done = pod({
        phase: 'Succeeded',
        initContainerStatuses: [container('compile', terminated(0, 'Completed', [1, 2]))],
        containerStatuses: [container('run', terminated(0, 'Completed', [2, 3]))],
      });
      const after = statusFrom(execution({ runtime: 'c' }), observeC(done, ''), at(4), statusPolicy);
      assert.equal(after.reason, 'Completed');
      assert.deepEqual(after.compile, { exitCode: 0, durationMs: 1000, output: '' });
      assert.equal(after.startedAt, '2026-01-01T10:00:01Z');
    });
  });

  describe('before the pod ends', () => {
    const waiting = (reason: string, createdAt = 0) =>
      pod(
        { phase: 'Pending', containerStatuses: [container('run', { waiting: { reason, message: 'detail' } })] },
        createdAt,
      );
    const cases = [
      { name: 'no pod yet', p: null, now: 1, phase: 'Pending', reason: null, message: /creating the pod/ },
      { name: 'an image pulling briefly', p: waiting('ImagePullBackOff'), now: 30, phase: 'Pending', reason: null },
      {
        name: 'an image pulling past the start timeout',
        p: waiting('ImagePullBackOff'),
        now: 121,
        phase: 'Failed',
        reason: 'SystemError',
        message: /ImagePullBackOff \(detail\) for 121s; check the Runtime's image/,
      },
      {
        name: 'an image that may never be pulled',
        p: waiting('ErrImageNeverPull'),
        now: 2,
        phase: 'Failed',
        reason: 'SystemError',
        message: /not on the node/,
      },
      {
        name: 'an unschedulable pod past the start timeout',
        p: pod({
          phase: 'Pending',
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: '0/3 nodes are available: 3 Insufficient memory.',
            },
          ],
        }),
        now: 200,
        phase: 'Failed',
        reason: 'SystemError',
        message: /Insufficient memory.*add capacity/,
      },
      {
        name: 'a running pod',
        p: pod({ phase: 'Running', containerStatuses: [container('run', { running: { startedAt: at(1) } })] }),
        now: 2,
        phase: 'Running',
        reason: null,
      },
    ] as const;
    for (const { name, p, now, phase, reason, ...rest } of cases) {
      it(`should be ${phase}${reason ? `/${reason}` : ''} with ${name}`, () => {
        const status = statusFrom(execution(), observe(p), at(now), statusPolicy);
        assert.equal(status.phase, phase);
        assert.equal(status.reason, reason);
        if ('message' in rest) assert.match(status.message, rest.message);
        assert.equal(status.stdout, '');
        assert.equal(status.finishedAt === null, phase !== 'Failed');
      });
    }
  });

  it('should end as SystemError when the node keeps a pod running long past its deadline', () => {
    const stuck = pod({
      phase: 'Running',
      startTime: at(0),
      containerStatuses: [container('run', { running: { startedAt: at(1) } })],
    });
    stuck.spec = { containers: [], activeDeadlineSeconds: 13 };
    assert.equal(statusFrom(execution(), observe(stuck), at(43), statusPolicy).phase, 'Running');
    const status = statusFrom(execution(), observe(stuck), at(44), statusPolicy);
    assert.equal(status.reason, 'SystemError');
    assert.match(status.message, /did not stop the pod 31s after its deadline of 13s/);
  });

  describe('fixed order of checks', () => {
    it('should end as Cancelled when spec.cancel is set on a running execution', () => {
      const running = pod({
        phase: 'Running',
        containerStatuses: [container('run', { running: { startedAt: at(1) } })],
      });
      const status = statusFrom(
        execution({ cancel: true }),
        observe(running, { output: output() }),
        at(5),
        statusPolicy,
      );
      assert.equal(status.phase, 'Failed');
      assert.equal(status.reason, 'Cancelled');
      assert.equal(status.stdout, 'hi\n', 'output produced before the cancel is kept');
    });

    it('should keep the real outcome when the pod finished before the cancel was seen', () => {
      const done = pod({ phase: 'Succeeded', containerStatuses: [container('run', terminated(0))] });
      assert.equal(statusFrom(execution({ cancel: true }), observe(done), at(5), statusPolicy).reason, 'Completed');
    });

    it('should never change a terminal status when the world changes afterwards', () => {
      const done = pod({ phase: 'Succeeded', containerStatuses: [container('run', terminated(0))] });
      const first = statusFrom(execution(), observe(done, { output: output() }), at(5), statusPolicy);
      const later = statusFrom(execution({}, { status: first }), observe(null), at(500), statusPolicy);
      assert.deepEqual(later, first);
    });

    it('should end as SystemError when the pod vanished after it was created', () => {
      const ex = execution({}, { status: { phase: 'Running', podName: 'hello-run' } });
      const status = statusFrom(ex, observe(null), at(5), statusPolicy);
      assert.equal(status.reason, 'SystemError');
      assert.match(status.message, /pod hello-run was deleted/);
    });

    it('should wait for a missing Runtime, then fail with an actionable message', () => {
      const missing = { runtimeFound: false, pod: null } as Observation;
      const early = statusFrom(execution(), missing, at(5), statusPolicy);
      assert.equal(early.phase, 'Pending');
      assert.equal(early.conditions.find((c) => c.type === 'Accepted')?.reason, 'RuntimeNotFound');
      const late = statusFrom(execution(), missing, at(31), statusPolicy);
      assert.equal(late.reason, 'SystemError');
      assert.match(late.message, /no Runtime named python; see kubectl get runtimes/);
    });

    it('should fail at once when the spec cannot run', () => {
      const status = statusFrom(
        execution(),
        observe(null, { plan: { ok: false, message: 'spec.limits.memoryMiB: too big' } }),
        at(1),
        statusPolicy,
      );
      assert.equal(status.reason, 'SystemError');
      assert.equal(status.conditions.find((c) => c.type === 'Accepted')?.reason, 'InvalidSpec');
    });
  });

  describe('conditions', () => {
    it('should stamp observedGeneration and keep lastTransitionTime while a condition holds', () => {
      const runningPod = pod({
        phase: 'Running',
        containerStatuses: [container('run', { running: { startedAt: at(1) } })],
      });
      const first = statusFrom(execution(), observe(runningPod), at(2), statusPolicy);
      const second = statusFrom(execution({}, { status: first }), observe(runningPod), at(9), statusPolicy);
      const running = second.conditions.find((c) => c.type === 'Running');
      assert.equal(running?.status, 'True');
      assert.equal(running?.lastTransitionTime, '2026-01-01T10:00:02Z');
      assert.equal(running?.observedGeneration, 1);
      assert.equal(statusChanged(first, second), false, 'nothing to write on a pass that saw nothing new');
    });

    it('should move lastTransitionTime when the condition status flips', () => {
      const runningPod = pod({
        phase: 'Running',
        containerStatuses: [container('run', { running: { startedAt: at(1) } })],
      });
      const first = statusFrom(execution(), observe(runningPod), at(2), statusPolicy);
      const done = pod({ phase: 'Succeeded', containerStatuses: [container('run', terminated(0))] });
      const second = statusFrom(execution({}, { status: first }), observe(done), at(9), statusPolicy);
      const succeeded = second.conditions.find((c) => c.type === 'Succeeded');
      assert.equal(succeeded?.status, 'True');
      assert.equal(succeeded?.lastTransitionTime, '2026-01-01T10:00:09Z');
      assert.equal(statusChanged(first, second), true);
    });
  });
});
