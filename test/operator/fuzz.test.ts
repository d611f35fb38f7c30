import assert from 'node:assert/strict';
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import fc from 'fast-check';
import winston from 'winston';
import { type ExecutionStatus, executionSpecSchema, executionStatusSchema } from '../../contract/crd.js';
import { isTerminal } from '../../contract/index.js';
import type { Execution } from '../../contract/objects.js';
import { Reconciler } from '../../operator/reconciler.js';
import { FuzzTally, fuzzParameters } from '../helpers/fuzz.js';
import { at, cRuntime, execution, policy, runtime, T0 } from './fixtures.js';
import { World } from './world.js';

// Property-based fuzzing of the operator's pure side: Executions the API server would admit (the
// CRD's own schema decides), with odd but valid names, sources, files, stdin, arguments and limits,
// driven through the reconciler over the in-memory world while the kubelet reports whatever it
// may (waiting reasons, odd termination messages, evictions, a vanished pod, a cancel at any
// moment, the clock jumping). Never allowed: a status the API server would refuse, a second pod, a
// programming error thrown, a terminal status that changes, or an Execution that never ends.

const silent = winston.createLogger({ silent: true });
const NAMESPACE = 'tenant-a';
const tally = new FuzzTally();

const oddText = (maxLength = 40) =>
  fc.oneof(
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.constantFrom('', '\uFEFF', '\u202E', '\uD800', '"}', '{"limit":"output"}', 'null', '\\', '\r\n'),
  );

const dnsLabel = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
const fileName = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,99}$/);

const limits = fc.record(
  {
    wallTimeMs: fc.integer({ min: 1, max: 10_000_000 }),
    cpuTimeMs: fc.integer({ min: 1, max: 10_000_000 }),
    memoryMiB: fc.integer({ min: 1, max: 1 << 20 }),
    pids: fc.integer({ min: 1, max: 100_000 }),
    outputBytes: fc.integer({ min: 1, max: 1 << 30 }),
    diskMiB: fc.integer({ min: 1, max: 1 << 20 }),
  },
  { requiredKeys: [] },
);

/** A spec as a client could write it; only those the CRD schema admits are kept. */
const admittedSpec = fc
  .record(
    {
      runtime: fc.constantFrom('python', 'c', 'ruby'),
      source: fc.oneof(
        oddText(200),
        fc.integer({ min: 0, max: 300_000 }).map((size) => 'x'.repeat(size)),
      ),
      files: fc.uniqueArray(fc.record({ name: fileName, content: oddText(100) }), {
        minLength: 1,
        maxLength: 32,
        selector: (file) => file.name,
      }),
      useFiles: fc.boolean(),
      stdin: fc.oneof(
        oddText(100),
        fc.integer({ min: 0, max: 1 << 20 }).map((size) => 'y'.repeat(size)),
      ),
      args: fc.array(
        oddText(50).map((arg) => arg.replaceAll('\u0000', '')),
        { maxLength: 64 },
      ),
      limits,
      interactive: fc.boolean(),
      ttlSecondsAfterFinished: fc.integer({ min: 0, max: 31_536_000 }),
      cancel: fc.constantFrom(false, false, false, false, true),
    },
    { requiredKeys: ['runtime', 'source', 'files', 'useFiles'] },
  )
  .map(({ useFiles, source, files, ...rest }) => (useFiles ? { ...rest, files } : { ...rest, source }))
  .filter((spec) => executionSpecSchema.safeParse(spec).success);

/** What the kubelet may do to the pod, and what else may happen between passes. */
type Happening =
  | { kind: 'waiting'; reason: string; message: string }
  | { kind: 'running' }
  | { kind: 'terminated'; exitCode: number; reason: string; message: string }
  | { kind: 'podFailed'; reason: string }
  | { kind: 'deletePod' }
  | { kind: 'logs'; stdout: string; stderr: string }
  | { kind: 'cancel' }
  | { kind: 'advance'; seconds: number };

const happening: fc.Arbitrary<Happening> = fc.oneof(
  fc.record({
    kind: fc.constant('waiting' as const),
    reason: fc.oneof(
      fc.constantFrom('ContainerCreating', 'ErrImagePull', 'ImagePullBackOff', 'CrashLoopBackOff', 'ErrImageNeverPull'),
      fc.constantFrom('InvalidImageName', 'CreateContainerConfigError', 'RunContainerError'),
      oddText(),
    ),
    message: oddText(),
  }),
  fc.record({ kind: fc.constant('running' as const) }),
  fc.record({
    kind: fc.constant('terminated' as const),
    exitCode: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(137, 143, -1)),
    reason: fc.oneof(fc.constantFrom('Completed', 'Error', 'OOMKilled', 'DeadlineExceeded', 'StartError'), oddText()),
    message: fc.oneof(
      oddText(200),
      fc
        .record({ limit: fc.constantFrom('wall', 'cpu', 'output', 'memory', 'x'), durationMs: fc.integer() })
        .map((report) => JSON.stringify(report)),
    ),
  }),
  fc.record({
    kind: fc.constant('podFailed' as const),
    reason: fc.constantFrom('Evicted', 'DeadlineExceeded', 'NodeLost'),
  }),
  fc.record({ kind: fc.constant('deletePod' as const) }),
  fc.record({
    kind: fc.constant('logs' as const),
    stdout: fc.oneof(
      oddText(200),
      fc.integer({ min: 0, max: 400_000 }).map((size) => 'o'.repeat(size)),
    ),
    stderr: oddText(200),
  }),
  fc.record({ kind: fc.constant('cancel' as const) }),
  fc.record({ kind: fc.constant('advance' as const), seconds: fc.integer({ min: 0, max: 600 }) }),
);

const PROGRAMMING_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError];

function containerState(happened: Happening, now: Date): V1ContainerStatus['state'] {
  if (happened.kind === 'waiting') return { waiting: { reason: happened.reason, message: happened.message } };
  if (happened.kind === 'running') return { running: { startedAt: now } };
  if (happened.kind === 'terminated') {
    return {
      terminated: {
        exitCode: happened.exitCode,
        reason: happened.reason,
        message: happened.message,
        startedAt: new Date(now.getTime() - 1000),
        finishedAt: now,
      },
    };
  }
  return undefined;
}

const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A pod the API server would accept: names and labels within their rules. */
function assertAdmissiblePod(pod: V1Pod): void {
  const name = pod.metadata?.name ?? '';
  assert.ok(name.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name), `pod name ${name}`);
  for (const [key, value] of Object.entries(pod.metadata?.labels ?? {})) {
    assert.ok(value.length <= 63 && labelValue.test(value), `label ${key}=${value}`);
  }
  for (const container of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    assert.ok(container.resources?.limits, `container ${container.name} without limits`);
    for (const arg of container.command ?? []) assert.ok(!arg.includes('\u0000'), 'NUL in a command');
  }
}

describe('operator fuzzing', function () {
  this.timeout(300_000);

  after(() => tally.print('operator fuzz'));

  it('should bring every admitted Execution to one valid terminal status, whatever the pod does', async () => {
    await fc.assert(
      fc.asyncProperty(
        dnsLabel,
        admittedSpec,
        fc.array(happening, { maxLength: 8 }),
        async (name, spec, happenings) => {
          const world = new World();
          world.runtimeObjects.push(runtime(), cRuntime());
          const base = execution(spec as Partial<Execution['spec']>);
          world.addExecution({ ...base, metadata: { ...base.metadata, name } });
          let now = at(1);
          const reconciler = new Reconciler(world, world, policy(), silent, () => now);
          /** Every status written, checked after each pass (an Execution may be gone by then, TTL 0). */
          const written: ExecutionStatus[] = [];
          const replaceStatus = world.replaceStatus.bind(world);
          world.replaceStatus = async (target, status) => {
            await replaceStatus(target, status);
            written.push(status);
          };
          const key = `${NAMESPACE}/${name}`;
          let terminal: string | undefined;
          let throws = 0;

          const pass = async () => {
            try {
              await reconciler.reconcile(key);
            } catch (error) {
              assert.ok(
                !PROGRAMMING_ERRORS.some((kind) => error instanceof kind),
                `reconcile threw ${(error as Error).stack}`,
              );
              throws += 1;
            }
            for (const status of written.splice(0)) {
              const parsed = executionStatusSchema.partial().safeParse(status);
              assert.ok(
                parsed.success,
                `status the API server would refuse: ${JSON.stringify(parsed.error?.issues[0])}`,
              );
              const summary = `${status.phase}/${status.reason}/${status.exitCode}`;
              if (terminal !== undefined) assert.equal(summary, terminal, 'a terminal status changed');
              if (status.phase && isTerminal(status.phase)) terminal = summary;
            }
            for (const pod of world.pods.values()) assertAdmissiblePod(pod);
            assert.ok(world.podsCreated <= 1, 'a second pod was made');
          };

          await pass();
          /** Deleted after its TTL: only a finished Execution may go. */
          const gone = () => {
            if (world.stored(NAMESPACE, name)) return false;
            assert.ok(terminal, 'the Execution was deleted before it ended');
            return true;
          };
          for (const happened of happenings) {
            if (gone()) break;
            const pod = world.pods.get(`${NAMESPACE}/${world.stored(NAMESPACE, name)?.status?.podName}`);
            const podName = pod?.metadata?.name ?? '';
            if (happened.kind === 'advance') now = new Date(now.getTime() + happened.seconds * 1000);
            else if (happened.kind === 'cancel') world.patchSpec(NAMESPACE, name, { cancel: true });
            else if (happened.kind === 'deletePod' && pod) await world.deletePod(NAMESPACE, podName);
            else if (happened.kind === 'logs' && pod) {
              world.logs.set(`${podName}/run/Stdout`, happened.stdout);
              world.logs.set(`${podName}/run/Stderr`, happened.stderr);
            } else if (happened.kind === 'podFailed' && pod) {
              world.setPodStatus(NAMESPACE, podName, { phase: 'Failed', reason: happened.reason });
            } else if (pod) {
              const state = containerState(happened, now);
              const ended = happened.kind === 'terminated';
              const phase = ended
                ? happened.exitCode === 0
                  ? 'Succeeded'
                  : 'Failed'
                : happened.kind === 'running'
                  ? 'Running'
                  : 'Pending';
              const statuses = [{ name: 'run', state, image: '', imageID: '', ready: false, restartCount: 0 }];
              world.setPodStatus(NAMESPACE, podName, {
                phase,
                startTime: T0,
                ...(pod.spec?.initContainers?.length
                  ? { initContainerStatuses: [{ ...statuses[0], name: 'compile' } as V1ContainerStatus] }
                  : {}),
                containerStatuses: statuses as V1ContainerStatus[],
              });
            }
            await pass();
          }
          // Whatever state things were left in, the Execution ends: the program ends (or the pod
          // never started and its start timeout passes), and a few passes later status is terminal.
          for (let round = 0; round < 12 && terminal === undefined && !gone(); round++) {
            const pod = world.pods.get(`${NAMESPACE}/${world.stored(NAMESPACE, name)?.status?.podName}`);
            if (pod && round === 0) {
              const ended = { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now } };
              world.setPodStatus(NAMESPACE, pod.metadata?.name ?? '', {
                phase: 'Succeeded',
                ...(pod.spec?.initContainers?.length
                  ? {
                      initContainerStatuses: [
                        { name: 'compile', state: ended, image: '', imageID: '', ready: false, restartCount: 0 },
                      ],
                    }
                  : {}),
                containerStatuses: [
                  { name: 'run', state: ended, image: '', imageID: '', ready: false, restartCount: 0 },
                ],
              });
            }
            now = new Date(now.getTime() + 200_000);
            await pass();
          }
          assert.ok(terminal, `never ended: ${JSON.stringify(world.stored(NAMESPACE, name)?.status)?.slice(0, 400)}`);
          await pass();
          assert.equal(world.pods.size, 0, 'a finished Execution keeps its pod');
          tally.add(`ended:${terminal.split('/').slice(0, 2).join('/')}`);
          tally.add('transient-throws', throws);
          tally.add('executions');
        },
      ),
      fuzzParameters(300),
    );
  });
});
