import assert from 'node:assert/strict';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { STDIN_GATE_MS } from '../../contract/live-gate.js';
import { childName, findRuntime } from '../../contract/objects.js';
import { type ExecutionPlan, planExecution } from '../../operator/plan.js';
import {
  desiredPod,
  desiredSecret,
  ephemeralStorageMiB,
  launch,
  PATHS,
  takesStdinRecords,
} from '../../operator/pod.js';
import { cRuntime, execution, policy, runtime } from './fixtures.js';

function planOf(...args: Parameters<typeof planExecution>): ExecutionPlan {
  const result = planExecution(...args);
  if (!result.ok) throw new Error(result.message);
  return result.plan;
}

function build(spec: Parameters<typeof execution>[0] = {}, rt = runtime(), overrides: Record<string, unknown> = {}) {
  const ex = execution(spec);
  const p = policy(overrides);
  const plan = planOf(ex, rt, p);
  return { pod: desiredPod(ex, rt, plan, p.pod), secret: desiredSecret(ex, rt, plan), plan };
}

const allContainers = (pod: V1Pod): V1Container[] => [
  ...(pod.spec?.initContainers ?? []),
  ...(pod.spec?.containers ?? []),
];

describe('desiredPod', () => {
  it('should name the pod after the execution and own it as controller when built', () => {
    const { pod } = build();
    assert.equal(pod.metadata?.name, 'hello-run');
    assert.equal(pod.metadata?.namespace, 'tenant-a');
    assert.deepEqual(pod.metadata?.ownerReferences, [
      {
        apiVersion: 'sandpod.dev/v1alpha1',
        kind: 'Execution',
        name: 'hello',
        uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    assert.equal(pod.metadata?.labels?.['app.kubernetes.io/managed-by'], 'sandpod');
    assert.equal(pod.metadata?.labels?.['sandpod.dev/execution'], 'hello');
  });

  it('should carry the tenant label of the Execution to its pod when the gateway set one', () => {
    const ex = execution();
    ex.metadata.labels = { 'sandpod.dev/tenant': 'acme' };
    const p = policy();
    const plan = planOf(ex, runtime(), p);
    assert.equal(desiredPod(ex, runtime(), plan, p.pod).metadata?.labels?.['sandpod.dev/tenant'], 'acme');
  });

  it('should give the same pod on every pass when inputs are unchanged', () => {
    assert.deepEqual(build().pod, build().pod);
  });

  it('should harden the pod as the contract demands when built with defaults', () => {
    const spec = build().pod.spec;
    assert.ok(spec);
    assert.equal(spec.restartPolicy, 'Never');
    assert.equal(spec.runtimeClassName, 'gvisor');
    assert.equal(spec.automountServiceAccountToken, false);
    assert.equal(spec.enableServiceLinks, false);
    assert.equal(spec.hostNetwork, false);
    assert.equal(spec.hostPID, false);
    assert.equal(spec.hostIPC, false);
    assert.equal(spec.shareProcessNamespace, false);
    assert.equal(spec.dnsPolicy, 'None');
    assert.deepEqual(spec.dnsConfig?.nameservers, ['127.0.0.1']);
    assert.deepEqual(spec.dnsConfig?.searches, []);
    assert.deepEqual(spec.securityContext, {
      runAsNonRoot: true,
      runAsUser: 65534,
      runAsGroup: 65534,
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('should lock down every container, the compile step included, when the runtime compiles', () => {
    const { pod } = build({ runtime: 'c', source: 'int main(){}' }, cRuntime());
    const containers = allContainers(pod);
    assert.deepEqual(
      containers.map((c) => c.name),
      ['compile', 'run'],
    );
    for (const c of containers) {
      assert.deepEqual(c.securityContext, {
        runAsNonRoot: true,
        runAsUser: 65534,
        runAsGroup: 65534,
        privileged: false,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      assert.equal(c.imagePullPolicy, 'IfNotPresent');
      assert.equal(
        c.env?.some((e) => e.valueFrom !== undefined),
        false,
        `${c.name} takes env from elsewhere`,
      );
      assert.equal(c.ports, undefined);
    }
  });

  it('should use the Localhost seccomp profile and another RuntimeClass when configured', () => {
    const { pod } = build({}, runtime(), {
      pod: { runtimeClassName: 'kata', seccomp: { type: 'Localhost', localhostProfile: 'sandpod/seccomp.json' } },
    });
    assert.equal(pod.spec?.runtimeClassName, 'kata');
    assert.deepEqual(pod.spec?.securityContext?.seccompProfile, {
      type: 'Localhost',
      localhostProfile: 'sandpod/seccomp.json',
    });
    assert.deepEqual(pod.spec?.containers[0]?.securityContext?.seccompProfile, {
      type: 'Localhost',
      localhostProfile: 'sandpod/seccomp.json',
    });
  });

  it('should leave runtimeClassName unset when configured empty for a development cluster', () => {
    assert.equal(build({}, runtime(), { pod: { runtimeClassName: '' } }).pod.spec?.runtimeClassName, undefined);
  });

  const resourceCases = [
    {
      name: 'defaults',
      limits: {},
      memory: '256Mi',
      storage: `${ephemeralStorageMiB({ outputBytes: 1048576 } as never, policy().pod)}Mi`,
    },
    {
      name: 'a larger request',
      limits: { memoryMiB: 512, outputBytes: 4 * 1048576 },
      memory: '512Mi',
      storage: '24Mi',
    },
  ];
  for (const { name, limits, memory, storage } of resourceCases) {
    it(`should set requests equal to limits for cpu, memory and ephemeral storage with ${name}`, () => {
      const run = build({ limits }).pod.spec?.containers[0];
      assert.deepEqual(run?.resources?.requests, run?.resources?.limits);
      assert.deepEqual(run?.resources?.limits, { cpu: '1', memory, 'ephemeral-storage': storage });
    });
  }

  it('should request less CPU than the limit when cpuRequest says so, and nothing else below its limit', () => {
    const run = build({}, runtime(), { pod: { cpus: 1, cpuRequest: 0.25 } }).pod.spec?.containers[0];
    assert.equal(run?.resources?.requests?.cpu, '0.25');
    assert.equal(run?.resources?.limits?.cpu, '1');
    assert.equal(run?.resources?.requests?.memory, run?.resources?.limits?.memory);
    assert.equal(run?.resources?.requests?.['ephemeral-storage'], run?.resources?.limits?.['ephemeral-storage']);
  });

  it('should give the compile step its own limits when the runtime compiles', () => {
    const { pod } = build({ runtime: 'c', source: 'int main(){}' }, cRuntime());
    assert.equal(pod.spec?.initContainers?.[0]?.resources?.limits?.memory, '512Mi');
    assert.equal(pod.spec?.containers[0]?.resources?.limits?.memory, '256Mi');
  });

  it("should have the launcher watch the run step's memory when a larger compile step sizes the sandbox", () => {
    const memoryArgs = (pod: V1Pod, container: 'init' | 'run') => {
      const command = (container === 'init' ? pod.spec?.initContainers?.[0] : pod.spec?.containers[0])?.command ?? [];
      const at = command.indexOf('--sandbox-memory-bytes');
      return at < 0 ? undefined : command[at + 1];
    };
    const compiled = build({ runtime: 'c', source: 'int main(){}' }, cRuntime()).pod;
    assert.equal(memoryArgs(compiled, 'run'), String(256 * 1024 * 1024));
    assert.equal(memoryArgs(compiled, 'init'), undefined);
    // Interpreted: the pod's cgroup is the run container's own size, and the host holds it.
    assert.equal(memoryArgs(build().pod, 'run'), undefined);
    // runc (no RuntimeClass) limits every container's cgroup; /proc/meminfo is the host's there.
    const runc = build({ runtime: 'c', source: 'int main(){}' }, cRuntime(), { pod: { runtimeClassName: '' } }).pod;
    assert.equal(memoryArgs(runc, 'run'), undefined);
    const off = build({ runtime: 'c', source: 'int main(){}' }, cRuntime(), { pod: { watchSandboxMemory: false } }).pod;
    assert.equal(memoryArgs(off, 'run'), undefined);
  });

  const deadlineCases = [
    { name: 'an interpreted run of 10 s', spec: {}, rt: runtime(), expected: 10 + 3 },
    { name: 'a run of 1.2 s, rounded up', spec: { limits: { wallTimeMs: 1200 } }, rt: runtime(), expected: 2 + 3 },
    { name: 'a compiled run, adding 20 s of compiling', spec: { runtime: 'c' }, rt: cRuntime(), expected: 20 + 10 + 3 },
    {
      name: 'an interactive run, adding the wait for the stdin gate',
      spec: { interactive: true },
      rt: runtime(),
      expected: 10 + STDIN_GATE_MS / 1000 + 3,
    },
  ];
  for (const { name, spec, rt, expected } of deadlineCases) {
    it(`should set activeDeadlineSeconds to ${expected} for ${name}`, () => {
      assert.equal(build(spec, rt).pod.spec?.activeDeadlineSeconds, expected);
    });
  }

  it('should mount source read-only from the owned Secret and scratch as size-limited memory', () => {
    const { pod } = build({ limits: { diskMiB: 32 } });
    const volumes = Object.fromEntries((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
    assert.deepEqual(volumes.source?.secret, {
      secretName: 'hello-input',
      defaultMode: 0o444,
      items: [{ key: 'file-0', path: 'main.py' }],
    });
    assert.deepEqual(volumes.tmp?.emptyDir, { medium: 'Memory', sizeLimit: '32Mi' });
    const mounts = pod.spec?.containers[0]?.volumeMounts ?? [];
    assert.deepEqual(
      mounts.find((m) => m.name === 'source'),
      { name: 'source', mountPath: PATHS.source, readOnly: true },
    );
    // The program works in a writable copy: /work and /tmp share the one scratch volume and budget.
    assert.equal(pod.spec?.containers[0]?.workingDir, PATHS.work);
    assert.deepEqual(
      mounts.filter((m) => m.name === 'tmp'),
      [
        { name: 'tmp', mountPath: '/tmp', subPath: 'tmp' },
        { name: 'tmp', mountPath: '/work', subPath: 'work' },
      ],
    );
    const command = pod.spec?.containers[0]?.command ?? [];
    assert.equal(command[command.indexOf('--copy-from') + 1], PATHS.source);
  });

  it('should map file names with + to indexed Secret keys when files are given', () => {
    const { pod, secret } = build({
      source: undefined,
      files: [
        { name: 'main.py', content: 'x' },
        { name: 'a+b.txt', content: 'y' },
      ],
    });
    assert.deepEqual(Object.keys(secret.data ?? {}), ['file-0', 'file-1']);
    assert.deepEqual(pod.spec?.volumes?.[0]?.secret?.items?.[1], { key: 'file-1', path: 'a+b.txt' });
  });

  it('should share the build volume writable with the compiler and read-only with the program', () => {
    const { pod } = build({ runtime: 'c', source: 'int main(){}' }, cRuntime());
    const compileBuild = pod.spec?.initContainers?.[0]?.volumeMounts?.find((m) => m.name === 'build');
    const runBuild = pod.spec?.containers[0]?.volumeMounts?.find((m) => m.name === 'build');
    assert.equal(compileBuild?.readOnly, undefined);
    assert.equal(runBuild?.readOnly, true);
    assert.deepEqual(pod.spec?.volumes?.find((v) => v.name === 'build')?.emptyDir, {
      medium: 'Memory',
      sizeLimit: '256Mi',
    });
  });

  it("should have the run step's launcher empty its scratch before it starts, and the compile step's none", () => {
    const { pod } = build({ runtime: 'c', source: 'int main(){}' }, cRuntime());
    const run = pod.spec?.containers[0]?.command ?? [];
    const at = run.indexOf('--scratch');
    assert.deepEqual(run.slice(at, at + 4), ['--scratch', PATHS.work, '--scratch', PATHS.tmp]);
    assert.ok(!pod.spec?.initContainers?.[0]?.command?.includes('--scratch'), 'the compiler works in the build dir');
  });

  it('should never put the source or stdin into the pod spec itself', () => {
    const secretText = 'print("the secret sauce 8d1f")';
    const { pod } = build({ source: secretText, stdin: 'stdin-payload-77aa' });
    const text = JSON.stringify(pod);
    assert.ok(!text.includes('8d1f'));
    assert.ok(!text.includes('77aa'));
  });

  it('should give the launcher the tests and their inputs from the Secret when tests are given', () => {
    const { pod, secret, plan } = build(
      {
        args: ['-v'],
        tests: [{ stdin: '1\n', expectedOutput: 'secret answer' }, { args: ['a', 'b'] }, {}],
        limits: { wallTimeMs: 2000 },
      },
      cRuntime(),
    );
    const run = pod.spec?.containers[0];
    const command = run?.command ?? [];
    const at = command.indexOf('--tests');
    assert.deepEqual(command.slice(at, at + 4), ['--tests', '3', '--tests-dir', PATHS.tests]);
    assert.ok(!command.includes('-v'), 'the spec args go with each test that has none');
    assert.ok(!command.includes('--stop-on-failure'), 'without stopOnFirstFailure every test runs');
    assert.deepEqual(
      Object.keys(secret.data ?? {}).filter((key) => key.startsWith('test-')),
      ['test-0-stdin', 'test-0-args', 'test-1-args', 'test-2-args'],
    );
    assert.equal(Buffer.from(secret.data?.['test-1-args'] ?? '', 'base64').toString(), 'a\0b\0');
    const decoded = Object.values(secret.data ?? {}).map((value) => Buffer.from(value, 'base64').toString());
    assert.ok(!decoded.some((value) => value.includes('secret answer')), 'expected outputs never reach the pod');
    const tests = pod.spec?.volumes?.find((volume) => volume.name === 'tests');
    assert.deepEqual(tests?.secret?.items?.[0], { key: 'test-0-stdin', path: '0/stdin' });
    assert.ok(run?.volumeMounts?.some((mount) => mount.mountPath === PATHS.tests && mount.readOnly));
    // Three runs of up to 2 s each, after the compile step.
    assert.equal(pod.spec?.activeDeadlineSeconds, 20 + 6 + policy().pod.startGraceSeconds);
    assert.equal(plan.tests?.length, 3);
  });

  it('should tell the launcher to stop after a failed test when stopOnFirstFailure is set', () => {
    const { pod } = build({ tests: [{ stdin: '1' }, { stdin: '2' }], stopOnFirstFailure: true }, cRuntime());
    const command = pod.spec?.containers[0]?.command ?? [];
    const at = command.indexOf('--stop-on-failure');
    assert.ok(at > command.indexOf('--tests') && at < command.indexOf('--'), command.join(' '));
    assert.equal(command[at + 1], '1');
  });

  it('should feed stdin from the Secret file when stdin is given', () => {
    const { pod, secret } = build({ stdin: '1 2\n' });
    assert.equal(Buffer.from(secret.data?.stdin ?? '', 'base64').toString(), '1 2\n');
    const command = pod.spec?.containers[0]?.command ?? [];
    assert.deepEqual(command.slice(command.indexOf('--stdin'), command.indexOf('--stdin') + 2), [
      '--stdin',
      '/sandpod/input/stdin',
    ]);
    assert.ok(pod.spec?.containers[0]?.volumeMounts?.some((m) => m.mountPath === PATHS.input && m.readOnly));
  });

  it('should keep stdin open and attachable when interactive, across attaches', () => {
    const { pod, secret } = build({ interactive: true, stdin: 'ignored' });
    const run = pod.spec?.containers[0];
    assert.equal(run?.stdin, true);
    // An attach that ends must not end the program's input: only the launcher's end record does.
    assert.equal(run?.stdinOnce, false);
    assert.equal(takesStdinRecords(pod), true);
    assert.equal(secret.data?.stdin, undefined);
    // No --stdin: the launcher reads the container's stdin, which the gateway attaches to.
    assert.equal(run?.command?.includes('--stdin'), false);
  });

  it('should say that a pod takes stdin records only when its run container keeps stdin open', () => {
    assert.equal(takesStdinRecords(build().pod), false);
    const legacy = build({ interactive: true }).pod;
    const run = legacy.spec?.containers[0];
    if (run) run.stdinOnce = true;
    assert.equal(takesStdinRecords(legacy), false);
    assert.equal(takesStdinRecords(undefined), false);
  });

  it('should make the Secret immutable, owned and labelled like the pod', () => {
    const { pod, secret } = build();
    assert.equal(secret.immutable, true);
    assert.deepEqual(secret.metadata?.ownerReferences, pod.metadata?.ownerReferences);
    assert.deepEqual(secret.metadata?.labels, pod.metadata?.labels);
  });

  it('should pass program argv and args as positional parameters, never through the shell parser', () => {
    const { pod } = build({ args: ['$(reboot)', "'; rm -rf /"] });
    const command = pod.spec?.containers[0]?.command ?? [];
    assert.equal(command[0], '/usr/local/bin/sandpod-launch');
    assert.deepEqual(command.slice(command.indexOf('--') + 1), ['python3', 'main.py', '$(reboot)', "'; rm -rf /"]);
  });

  it('should have the launcher report into the termination message of both steps', () => {
    const { pod } = build({ runtime: 'c' }, cRuntime());
    for (const step of allContainers(pod)) {
      assert.equal(step.command?.[0], '/usr/local/bin/sandpod-launch');
      assert.equal(step.terminationMessagePath, '/dev/termination-log');
      assert.equal(step.terminationMessagePolicy, 'File');
      const report = step.command?.indexOf('--report') ?? -1;
      assert.equal(step.command?.[report + 1], '/dev/termination-log');
    }
  });

  it('should annotate the pod as configured and leave annotations out otherwise', () => {
    const annotations = { 'dev.gvisor.flag.oci-seccomp': 'true' };
    assert.deepEqual(build({}, runtime(), { pod: { annotations } }).pod.metadata?.annotations, annotations);
    assert.equal(build().pod.metadata?.annotations, undefined);
  });
});

describe('launch', () => {
  const limits = { wallTimeMs: 1000, cpuTimeMs: 1500, memoryMiB: 64, pids: 7, outputBytes: 100, diskMiB: 8 };
  const option = (command: string[], name: string) => command[command.indexOf(name) + 1];

  it("should hand the step's limits to the launcher as options", () => {
    const command = launch(['python3', 'main.py'], limits, 'none', policy().pod);
    assert.equal(option(command, '--wall-ms'), '1000');
    assert.equal(option(command, '--cpu-ms'), '1500');
    assert.equal(option(command, '--output-bytes'), '100');
    assert.equal(option(command, '--pids'), '7');
    assert.equal(option(command, '--open-files'), '256');
    assert.equal(option(command, '--stdin'), '/dev/null');
  });

  it('should let only the allow-listed variables through to the program', () => {
    const command = launch(['env'], limits, 'none', policy().pod);
    const kept = command.flatMap((word, index) => (word === '--env' ? [command[index + 1]] : []));
    assert.deepEqual(kept, ['PATH', 'HOME', 'TMPDIR', 'LANG']);
  });

  it('should have the launcher read a live stdin as records, gated, and only then', () => {
    assert.equal(option(launch(['true'], limits, 'live', policy().pod), '--live-ms'), String(STDIN_GATE_MS));
    assert.ok(!launch(['true'], limits, 'live', policy().pod).includes('--stdin'));
    assert.ok(!launch(['true'], limits, 'live', policy().pod).includes('--gate-ms'));
    assert.ok(!launch(['true'], limits, 'none', policy().pod).includes('--live-ms'));
    assert.ok(!launch(['true'], limits, 'file', policy().pod).includes('--live-ms'));
  });

  it('should start the launcher the policy names', () => {
    const command = launch(['true'], limits, 'live', policy({ pod: { launcher: '/opt/sandpod/launch' } }).pod);
    assert.equal(command[0], '/opt/sandpod/launch');
    assert.deepEqual(command.slice(-2), ['--', 'true']);
  });
});

describe('childName', () => {
  const cases = [
    { name: 'hello', suffix: 'run', expected: 'hello-run' },
    { name: 'a'.repeat(59), suffix: 'run', expected: `${'a'.repeat(59)}-run` },
  ];
  for (const { name, suffix, expected } of cases) {
    it(`should keep ${name.length}-character names whole when they fit`, () => {
      assert.equal(childName(name, suffix), expected);
    });
  }

  it('should cut long names to 63 characters with a hash that tells them apart', () => {
    const a = childName(`${'x'.repeat(70)}a`, 'run');
    const b = childName(`${'x'.repeat(70)}b`, 'run');
    assert.equal(a.length <= 63, true);
    assert.notEqual(a, b);
    assert.match(a, /^x+-[0-9a-f]{10}-run$/);
  });
});

describe('findRuntime', () => {
  it('should find a Runtime by alias when no name matches', () => {
    const runtimes = [runtime({ aliases: ['py'] }), cRuntime()];
    assert.equal(findRuntime(runtimes, 'py')?.metadata.name, 'python');
    assert.equal(findRuntime(runtimes, 'c')?.metadata.name, 'c');
    assert.equal(findRuntime(runtimes, 'ruby'), undefined);
  });
});

describe('planExecution', () => {
  const cases = [
    {
      name: 'a limit above the maximum',
      spec: { limits: { memoryMiB: 4096 } },
      message: /limits\.memoryMiB.*maximum of 1024/,
    },
    {
      name: 'both source and files',
      spec: { files: [{ name: 'a.py', content: '' }] },
      message: /exactly one of source or files/,
    },
    {
      name: 'a file name with a slash',
      spec: { source: undefined, files: [{ name: '../x', content: '' }] },
      message: /plain file name/,
    },
    {
      name: 'payload above a Secret',
      spec: { source: 'é'.repeat(262_144), stdin: 'x'.repeat(600_000) },
      message: /at most 1048576/,
    },
  ];
  for (const { name, spec, message } of cases) {
    it(`should refuse ${name}`, () => {
      const result = planExecution(execution(spec), runtime(), policy());
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.message, message);
    });
  }

  it('should take the Runtime defaults and maxima within the operator policy when the Runtime names them', () => {
    const rt = runtime({ limits: { defaults: { memoryMiB: 768, pids: 100_000 }, maxima: { wallTimeMs: 5000 } } });
    const plan = planOf(execution(), rt, policy());
    assert.equal(plan.limits.memoryMiB, 768);
    // A Runtime default past the operator's maximum is held to that maximum, as the gateway does.
    assert.equal(plan.limits.pids, policy().limits.maxima.pids);
    const refused = planExecution(execution({ limits: { wallTimeMs: 6000 } }), rt, policy());
    assert.equal(refused.ok, false);
    assert.match(refused.ok ? '' : refused.message, /runtime .*'s maximum of 5000/);
  });

  it('should write a single source to the Runtime fileName and append args to the run argv', () => {
    const plan = planOf(execution({ args: ['a'] }), runtime(), policy());
    assert.deepEqual(plan.files, [{ name: 'main.py', content: 'print(1)\n' }]);
    assert.deepEqual(plan.runArgv, ['python3', 'main.py', 'a']);
  });
});
