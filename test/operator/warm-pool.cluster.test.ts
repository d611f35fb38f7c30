import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { clientLoads, clusterReachable, eventually, kubectl, OperatorProcess, repo, skipOrFail } from './cluster.js';

// WarmPools on the dev cluster's real node under gVisor: the operator (a child process confined to
// a namespace of its own) keeps ready pods, Executions claim them and get their program through
// an attach, and what they end as is what a cold pod gives. Pods ask for little CPU so that a pool
// and twenty Executions fit on the dev node's two cores.

const namespace = `sandpod-warm-test-${process.pid}`;
const runtimeName = (language: string) => `warm-test-${process.pid}-${language}`;
const LANGUAGES = ['python', 'c'];
const POOL = 'python';

interface Status {
  phase?: string;
  reason?: string;
  message?: string;
  exitCode?: number;
  stdout?: string;
  stderr?: string;
  podName?: string;
  warm?: boolean;
  compile?: { exitCode?: number; output?: string };
  tests?: { name?: string; reason?: string; stdout?: string }[];
  testsPassed?: string;
}

interface PodList {
  items: {
    metadata: { name: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] };
    status?: { phase?: string; conditions?: { type: string; status: string }[] };
  }[];
}

function runtimeFromManifest(language: string): string {
  const manifest = yaml.load(readFileSync(join(repo, `manifests/runtimes/${language}.yaml`), 'utf8')) as {
    spec: Record<string, unknown>;
  };
  return JSON.stringify({
    apiVersion: 'sandpod.dev/v1alpha1',
    kind: 'Runtime',
    metadata: { name: runtimeName(language) },
    spec: manifest.spec,
  });
}

function json<T>(args: string[]): T | undefined {
  const result = kubectl([...args, '-o', 'json']);
  return result.ok ? (JSON.parse(result.out) as T) : undefined;
}

const statusOf = (name: string) => json<{ status?: Status }>(['get', 'ex', name, '-n', namespace])?.status;

const terminal = (name: string) => () => {
  const status = statusOf(name);
  return status?.phase === 'Succeeded' || status?.phase === 'Failed' ? status : undefined;
};

function poolPods(pool: string) {
  return (json<PodList>(['get', 'pods', '-n', namespace, '-l', `sandpod.dev/warm-pool=${pool}`])?.items ?? []).filter(
    (pod) => pod.metadata.labels?.['sandpod.dev/claimed'] === undefined,
  );
}

const isReady = (pod: PodList['items'][number]) =>
  pod.status?.phase === 'Running' &&
  (pod.status.conditions ?? []).some((condition) => condition.type === 'Ready' && condition.status === 'True');

/** Resolves once the pool has exactly `count` unclaimed pods, all ready, and its status says so. */
function poolReady(pool: string, count: number, timeoutMs = 120_000) {
  return eventually(
    `WarmPool ${pool} to have ${count} ready pods`,
    () => {
      const pods = poolPods(pool);
      const status = json<{ status?: { readyReplicas?: number; replicas?: number } }>([
        'get',
        'wp',
        pool,
        '-n',
        namespace,
      ])?.status;
      const ready = pods.length === count && pods.every(isReady);
      return ready && status?.readyReplicas === count && status.replicas === count ? pods : undefined;
    },
    timeoutMs,
  );
}

function createPool(name: string, language: string, replicas: number, limits?: Record<string, number>) {
  const body = {
    apiVersion: 'sandpod.dev/v1alpha1',
    kind: 'WarmPool',
    metadata: { name, namespace },
    spec: { runtime: runtimeName(language), replicas, ...(limits ? { limits } : {}) },
  };
  const created = kubectl(['apply', '-f', '-'], JSON.stringify(body));
  assert.ok(created.ok, created.out);
}

function createExecution(name: string, spec: Record<string, unknown>) {
  const body = { apiVersion: 'sandpod.dev/v1alpha1', kind: 'Execution', metadata: { name, namespace }, spec };
  const created = kubectl(['create', '-f', '-'], JSON.stringify(body));
  assert.ok(created.ok, created.out);
}

/** Each one's terminal status, waited for in turn (kubectl calls block the test's process). */
async function endOf(names: string[]): Promise<Status[]> {
  const statuses: Status[] = [];
  for (const name of names) statuses.push(await eventually(`${name} to end`, terminal(name), 240_000));
  return statuses;
}

const hello = (word: string) => ({
  runtime: runtimeName('python'),
  source: `import sys\nprint("hello", sys.stdin.read().strip())\n`,
  stdin: word,
});

describe('WarmPools on the dev cluster (needs a node)', function () {
  this.timeout(300_000);
  const workDir = mkdtempSync(join(tmpdir(), 'sandpod-warm-test-'));
  const configPath = join(workDir, 'operator.yaml');
  let operator: OperatorProcess | undefined;
  let anyFailed = false;

  before(function () {
    if (!clusterReachable()) skipOrFail(this, 'no API server answers (dev-cluster/up.sh)');
    if (!kubectl(['get', 'runtimeclass', 'gvisor']).ok) skipOrFail(this, 'no RuntimeClass gvisor');
    if (!clientLoads()) skipOrFail(this, '@kubernetes/client-node does not load on this Node.js');
    const crds = kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(repo, 'manifests/crds/')]);
    assert.ok(crds.ok, crds.out);
    assert.ok(kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/warmpools.sandpod.dev']).ok);
    assert.ok(kubectl(['create', 'namespace', namespace]).ok);
    for (const language of LANGUAGES) {
      const applied = kubectl(['apply', '-f', '-'], runtimeFromManifest(language));
      assert.ok(applied.ok, applied.out);
    }
    writeFileSync(
      configPath,
      JSON.stringify({
        watchNamespace: namespace,
        pod: { runtimeClassName: 'gvisor', cpus: 0.05 },
        metrics: { port: 0, host: '127.0.0.1' },
        leaderElection: { enabled: false },
      }),
    );
    operator = new OperatorProcess(configPath, 'warm-test-operator');
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') anyFailed = true;
  });

  after(async () => {
    if (anyFailed && operator)
      process.stderr.write(`operator log (last 6000 characters):\n${operator.log.slice(-6000)}\n`);
    await operator?.stop();
    kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
    for (const language of LANGUAGES)
      kubectl(['delete', 'runtime.sandpod.dev', runtimeName(language), '--ignore-not-found']);
    rmSync(workDir, { recursive: true, force: true });
  });

  it('should keep spec.replicas ready pods and show them in kubectl get wp', async () => {
    createPool(POOL, 'python', 2);
    const pods = await poolReady(POOL, 2);
    const listed = kubectl(['get', 'wp', '-n', namespace]);
    assert.match(listed.out, /NAME\s+RUNTIME\s+DESIRED\s+READY\s+AGE/);
    assert.match(listed.out, new RegExp(`${POOL}\\s+${runtimeName('python')}\\s+2\\s+2`));
    const pod = json<{
      spec: {
        runtimeClassName?: string;
        automountServiceAccountToken?: boolean;
        containers: { securityContext?: { readOnlyRootFilesystem?: boolean }; stdin?: boolean }[];
        volumes?: { secret?: unknown }[];
      };
    }>(['get', 'pod', pods[0]?.metadata.name ?? '', '-n', namespace]);
    assert.equal(pod?.spec.runtimeClassName, 'gvisor');
    assert.equal(pod?.spec.automountServiceAccountToken, false);
    assert.equal(pod?.spec.containers[0]?.securityContext?.readOnlyRootFilesystem, true);
    assert.ok(!(pod?.spec.volumes ?? []).some((volume) => volume.secret), 'no program in the pod before a claim');
  });

  it('should serve an Execution from a ready pod, delete that pod after its one program and replace it', async () => {
    const before = new Set(poolPods(POOL).map((pod) => pod.metadata.name));
    createExecution('warm-hello', hello('warm'));
    const status = await eventually('warm-hello to end', terminal('warm-hello'), 120_000);
    assert.equal(status.reason, 'Completed', status.message);
    assert.equal(status.stdout, 'hello warm\n');
    assert.equal(status.warm, true);
    assert.ok(before.has(status.podName ?? ''), `served by ${status.podName}, one of the pool's ready pods`);
    await eventually('the served pod to be deleted', () =>
      kubectl(['get', 'pod', status.podName ?? '', '-n', namespace]).ok ? undefined : true,
    );
    await poolReady(POOL, 2);
  });

  it('should compile and run a C program in one warm pod and tell a compile error', async () => {
    createPool('c', 'c', 2);
    await poolReady('c', 2);
    createExecution('warm-sum', {
      runtime: runtimeName('c'),
      source:
        '#include <stdio.h>\nint main(void) { int a, b; scanf("%d %d", &a, &b); printf("%d\\n", a + b); return 0; }\n',
      stdin: '2 40\n',
    });
    createExecution('warm-broken', { runtime: runtimeName('c'), source: 'int main(void) { return undeclared; }\n' });
    const sum = await eventually('warm-sum to end', terminal('warm-sum'), 120_000);
    assert.equal(sum.reason, 'Completed', sum.message);
    assert.equal(sum.stdout, '42\n');
    assert.equal(sum.warm, true);
    const broken = await eventually('warm-broken to end', terminal('warm-broken'), 120_000);
    assert.equal(broken.reason, 'CompileError', broken.message);
    assert.match(broken.compile?.output ?? '', /undeclared/);
    assert.equal(broken.warm, true);
    kubectl(['delete', 'wp', 'c', '-n', namespace]);
  });

  it('should send an Execution whose limits are above the pool to a cold pod', async () => {
    createExecution('too-big', { ...hello('cold'), limits: { memoryMiB: 512 } });
    const status = await eventually('too-big to end', terminal('too-big'), 120_000);
    assert.equal(status.reason, 'Completed', status.message);
    assert.equal(status.stdout, 'hello cold\n');
    assert.equal(status.warm, undefined);
    assert.equal(status.podName, 'too-big-run');
  });

  it('should judge tests in a warm pod that fits them with the verdicts a cold pod gives', async () => {
    // The pool pod's log holds three tests of the default 1 MiB output limit.
    createPool('judge', 'python', 1, { outputBytes: 4 * 1024 * 1024 });
    await poolReady('judge', 1);
    const judged = (limits: Record<string, number> = {}) => ({
      runtime: runtimeName('python'),
      source: 'import sys\nn = int(sys.stdin.read())\nprint(n * 2 if n != 2 else 5, *sys.argv[1:])\n',
      tests: [
        { name: 'one', stdin: '1\n', expectedOutput: '2\n' },
        { name: 'two', stdin: '2\n', expectedOutput: '4\n' },
        { name: 'three', stdin: '3\n', args: ['x'], expectedOutput: '6 x\n' },
      ],
      ...(Object.keys(limits).length > 0 ? { limits } : {}),
    });
    createExecution('warm-judged', judged());
    // Above the pool's memory: the same tests on a cold pod.
    createExecution('cold-judged', judged({ memoryMiB: 512 }));
    const [warm, cold] = await endOf(['warm-judged', 'cold-judged']);
    assert.equal(warm?.warm, true, warm?.message);
    assert.equal(cold?.warm, undefined);
    const verdicts = (status?: Status) => status?.tests?.map((test) => [test.name, test.reason, test.stdout]);
    assert.deepEqual(verdicts(warm), [
      ['one', 'Accepted', '2\n'],
      ['two', 'WrongAnswer', '5\n'],
      ['three', 'Accepted', '6 x\n'],
    ]);
    assert.deepEqual(verdicts(warm), verdicts(cold));
    assert.equal(warm?.reason, cold?.reason);
    assert.equal(warm?.reason, 'WrongAnswer');
    assert.equal(warm?.testsPassed, cold?.testsPassed);
    kubectl(['delete', 'wp', 'judge', '-n', namespace]);
  });

  it('should replace a pool pod that is killed', async () => {
    const [victim] = await poolReady(POOL, 2);
    assert.ok(kubectl(['delete', 'pod', victim?.metadata.name ?? '', '-n', namespace, '--grace-period=0']).ok);
    const pods = await poolReady(POOL, 2);
    assert.ok(!pods.some((pod) => pod.metadata.name === victim?.metadata.name));
  });

  it('should scale up and down with kubectl scale', async () => {
    assert.ok(kubectl(['scale', 'wp', POOL, '-n', namespace, '--replicas=4']).ok);
    await poolReady(POOL, 4);
    assert.ok(kubectl(['scale', 'wp', POOL, '-n', namespace, '--replicas=1']).ok);
    await poolReady(POOL, 1);
    assert.ok(kubectl(['scale', 'wp', POOL, '-n', namespace, '--replicas=4']).ok);
    await poolReady(POOL, 4);
  });

  it('should give each of 20 Executions at once its own pod, warm or cold, never one twice', async () => {
    const names = Array.from({ length: 20 }, (_, index) => `many-${index}`);
    for (const name of names) createExecution(name, hello(name));
    const statuses = await endOf(names);
    statuses.forEach((status, index) => {
      assert.equal(status.reason, 'Completed', `${names[index]}: ${status.message}`);
      assert.equal(status.stdout, `hello ${names[index]}\n`);
    });
    const pods = statuses.map((status) => status.podName);
    assert.equal(new Set(pods).size, 20, 'no pod served two Executions');
    const warm = statuses.filter((status) => status.warm).length;
    assert.ok(warm >= 4, `${warm} of 20 warm`);
    process.stdout.write(`      20 at once against a pool of 4: ${warm} warm, ${20 - warm} cold\n`);
    await poolReady(POOL, 4);
  });

  it('should lose and duplicate nothing when the operator is killed while it claims', async () => {
    const names = Array.from({ length: 4 }, (_, index) => `killed-${index}`);
    for (const name of names) createExecution(name, hello(name));
    // Killed as soon as the first claim shows, with the others likely mid-claim or mid-delivery.
    await eventually(
      'a claim',
      () =>
        (json<PodList>(['get', 'pods', '-n', namespace, '-l', 'sandpod.dev/claimed=true'])?.items ?? []).some((pod) =>
          names.includes(pod.metadata.labels?.['sandpod.dev/execution'] ?? ''),
        ) || undefined,
      60_000,
      20,
    );
    await operator?.kill();
    operator = new OperatorProcess(configPath, 'warm-test-operator-2');
    const statuses = await endOf(names);
    statuses.forEach((status, index) => {
      assert.equal(status.reason, 'Completed', `${names[index]}: ${status.message}`);
      assert.equal(status.stdout, `hello ${names[index]}\n`);
    });
    assert.equal(new Set(statuses.map((status) => status.podName)).size, 4);
    // Every claimed pod belongs to exactly one of them: none was claimed and then left behind.
    const claimed = json<PodList>(['get', 'pods', '-n', namespace, '-l', 'sandpod.dev/claimed=true'])?.items ?? [];
    const orphans = claimed.filter((pod) => !pod.metadata.ownerReferences?.some((ref) => ref.kind === 'Execution'));
    assert.deepEqual(orphans, []);
    await poolReady(POOL, 4);
  });
});
