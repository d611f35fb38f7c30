// `make bench`, operator section: on the dev cluster's kwok nodes, N Executions through the
// operator side by side with N equivalent Jobs through Kubernetes' own Job controller (in the
// running kube-controller-manager), on the same control plane in the same run. Prints time from
// create to pod created (p50/p99) and completions per second for both, then the operator's RSS
// with BENCH_PRESENT Executions present. Asserts nothing; skips, saying why, without a cluster.
//
//   N=50 node --import=tsx bench/operator.ts       (BENCH_PRESENT=0 skips the memory part)
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  KubernetesObjectApi,
  type V1Job,
  type V1Pod,
} from '@kubernetes/client-node';
import yaml from 'js-yaml';
import winston from 'winston';
import { API_GROUP, API_VERSION } from '../contract/crd.js';
import type { Execution } from '../contract/objects.js';
import { PooledKubeConfig } from '../kube/pooled-kube-config.js';
import { WatchedObjects } from '../kube/watched-objects.js';

const repo = new URL('../', import.meta.url).pathname;
const N = Number(process.env.N ?? 1000);
const PRESENT = Number(process.env.BENCH_PRESENT ?? 10_000);
const CREATE_CONCURRENCY = Number(process.env.BENCH_CREATE_CONCURRENCY ?? 8);
/** A side that makes no progress for this long is reported as it stands. */
const STALL_MS = Number(process.env.BENCH_STALL_SECONDS ?? 120) * 1000;
const NODE_LABEL = process.env.BENCH_NODE_LABEL ?? 'type=kwok';
/** BENCH_JOBS=0 leaves the Job controller out, to try operator settings quickly. */
const WITH_JOBS = process.env.BENCH_JOBS !== '0';
/** The operator's queue.workers; its default when unset. */
const WORKERS = process.env.BENCH_OPERATOR_WORKERS ? Number(process.env.BENCH_OPERATOR_WORKERS) : undefined;
/** The operator's api.qps (0: no client-side rate limit); its default when unset. */
const QPS = process.env.BENCH_OPERATOR_QPS ? Number(process.env.BENCH_OPERATOR_QPS) : undefined;
const TENANT_LABEL = 'sandpod.dev/tenant';
const TENANT = 'kwok-bench';
const IMAGE = 'sandpod.local/kwok-bench:none';
const STAGE_FILE = join(repo, 'bench/kwok-pod-complete.yaml');

const run = `${process.pid}-${Date.now().toString(36)}`;
const jobNamespace = `sandpod-bench-jobs-${run}`;
const executionNamespace = `sandpod-bench-ex-${run}`;
const runtimeName = `kwok-bench-${run}`;
const [nodeKey = 'type', nodeValue = 'kwok'] = NODE_LABEL.split('=');
const nodeSelector = { [nodeKey]: nodeValue };
const tolerations = [{ key: 'kwok.x-k8s.io/node', operator: 'Equal', value: 'fake', effect: 'NoSchedule' }];
// The same requests for both sides: the scheduler does the same work for each pod.
const resources = { requests: { cpu: '1', memory: '256Mi' }, limits: { cpu: '1', memory: '256Mi' } };

const quiet = winston.createLogger({ level: 'error', transports: [new winston.transports.Console()] });
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const ms = (value: number) => (Number.isNaN(value) ? '-' : `${value.toFixed(0)} ms`);
const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
const sleep = (delayMs: number) => new Promise((resolve) => setTimeout(resolve, delayMs));

function kubeConfig(): KubeConfig | string {
  const path = process.env.KUBECONFIG ?? join(repo, '.sandpod/kubeconfig');
  if (!existsSync(path)) return `no kubeconfig at ${path} (start the dev cluster: make dev-cluster)`;
  // Connections reused, as the operator's are: the benchmark's own creates load the API server alike for both sides.
  const config = new PooledKubeConfig();
  config.loadFromFile(path);
  process.env.KUBECONFIG = path;
  return config;
}

/** Why the cluster cannot run this benchmark, or undefined. */
async function clusterProblem(kc: KubeConfig): Promise<string | undefined> {
  const core = kc.makeApiClient(CoreV1Api);
  try {
    const nodes = await core.listNode({ labelSelector: NODE_LABEL });
    const ready = nodes.items.filter((node) =>
      node.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True'),
    );
    if (ready.length === 0) return `no Ready node labelled ${NODE_LABEL} (SANDPOD_DEV_KWOK_NODES=2 dev-cluster/up.sh)`;
  } catch (error) {
    return `the API server does not answer: ${error instanceof Error ? error.message : String(error)}`;
  }
  try {
    await kc.makeApiClient(CustomObjectsApi).listClusterCustomObject({
      group: 'kwok.x-k8s.io',
      version: 'v1alpha1',
      plural: 'stages',
    });
  } catch {
    return 'kwok does not read Stage objects: restart the dev cluster with the dev-cluster/up.sh of this tree (kwok --enable-crds=Stage)';
  }
  return undefined;
}

/** Per object: when its create was sent, when its pod appeared, when it was seen finished. */
class Timeline {
  readonly sent = new Map<string, number>();
  readonly pod = new Map<string, number>();
  readonly done = new Map<string, number>();
  readonly outcomes = new Map<string, number>();
  /** The message of one finished object, to show what an outcome looks like. */
  sampleMessage = '';
  createdIn = 0;
  lastProgress = performance.now();

  podSeen(owner: string | undefined): void {
    if (owner && this.sent.has(owner) && !this.pod.has(owner)) {
      this.pod.set(owner, performance.now());
      this.lastProgress = performance.now();
    }
  }

  finished(name: string, outcome: string, message = ''): void {
    if (!this.sent.has(name) || this.done.has(name)) return;
    if (!this.sampleMessage) this.sampleMessage = message;
    this.done.set(name, performance.now());
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
    this.lastProgress = performance.now();
  }

  summary() {
    const latencies = [...this.pod].map(([name, at]) => at - (this.sent.get(name) ?? at)).sort((a, b) => a - b);
    const first = Math.min(...this.sent.values());
    const last = Math.max(...this.done.values());
    const seconds = (last - first) / 1000;
    return {
      pods: latencies.length,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      completed: this.done.size,
      seconds,
      rate: this.done.size / seconds,
      createdIn: this.createdIn / 1000,
      outcomes: [...this.outcomes].map(([outcome, count]) => `${outcome} ${count}`).join(', '),
    };
  }
}

/** Creates `count` objects, CREATE_CONCURRENCY at a time, noting when each create was sent. */
async function createAll(prefix: string, count: number, timeline: Timeline, create: (name: string) => Promise<void>) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CREATE_CONCURRENCY }, async () => {
      for (let index = next++; index < count; index = next++) {
        const name = `${prefix}-${index}`;
        timeline.sent.set(name, performance.now());
        await create(name);
      }
    }),
  );
  timeline.createdIn = performance.now() - started;
}

async function untilDone(timeline: Timeline, count: number, extra: () => string = () => ''): Promise<boolean> {
  while (timeline.done.size < count) {
    if (performance.now() - timeline.lastProgress > STALL_MS) {
      console.log(
        `  stalled: ${timeline.done.size}/${count} finished after no progress for ${STALL_MS / 1000} s ${extra()}`,
      );
      return false;
    }
    await sleep(250);
  }
  return true;
}

function watchPods(kc: KubeConfig, namespace: string, ownerOf: (pod: V1Pod) => string | undefined, timeline: Timeline) {
  const core = kc.makeApiClient(CoreV1Api);
  const pods = new WatchedObjects<V1Pod>({
    kubeConfig: kc,
    path: `/api/v1/namespaces/${namespace}/pods`,
    list: () => core.listNamespacedPod({ namespace }),
    kind: 'Pod',
    log: quiet,
    backoff: { baseMs: 200, maxMs: 2_000 },
    slim: (pod) => ({ metadata: pod.metadata ?? {} }) as V1Pod,
  });
  pods.onChange((pod, change) => {
    if (change === 'add') timeline.podSeen(ownerOf(pod));
  });
  return pods;
}

async function benchJobs(kc: KubeConfig): Promise<Timeline> {
  const timeline = new Timeline();
  const batch = kc.makeApiClient(BatchV1Api);
  const pods = watchPods(kc, jobNamespace, (pod) => pod.metadata?.labels?.['batch.kubernetes.io/job-name'], timeline);
  const jobs = new WatchedObjects<V1Job>({
    kubeConfig: kc,
    path: `/apis/batch/v1/namespaces/${jobNamespace}/jobs`,
    list: () => batch.listNamespacedJob({ namespace: jobNamespace }),
    kind: 'Job',
    log: quiet,
    backoff: { baseMs: 200, maxMs: 2_000 },
  });
  jobs.onChange((job) => {
    const ended = job.status?.conditions?.find(
      (condition) => (condition.type === 'Complete' || condition.type === 'Failed') && condition.status === 'True',
    );
    if (ended && job.metadata?.name) timeline.finished(job.metadata.name, ended.type);
  });
  await Promise.all([pods.start(), jobs.start()]);
  await Promise.all([pods.synced, jobs.synced]);
  await createAll('b', N, timeline, async (name) => {
    await batch.createNamespacedJob({
      namespace: jobNamespace,
      body: {
        metadata: { name, labels: { [TENANT_LABEL]: TENANT } },
        spec: {
          backoffLimit: 0,
          template: {
            metadata: { labels: { [TENANT_LABEL]: TENANT } },
            spec: {
              restartPolicy: 'Never',
              nodeSelector,
              tolerations,
              automountServiceAccountToken: false,
              containers: [{ name: 'run', image: IMAGE, command: ['python3', 'main.py'], resources }],
            },
          },
        },
      },
    });
  });
  await untilDone(timeline, N);
  await Promise.all([pods.stop(), jobs.stop()]);
  return timeline;
}

/** The operator as its own process, so that its RSS is its own. */
class OperatorProcess {
  private readonly child: ChildProcess;
  log = '';

  constructor(configPath: string) {
    // BENCH_OPERATOR_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the operator.
    const nodeArgs = (process.env.BENCH_OPERATOR_NODE_ARGS ?? '').split(' ').filter(Boolean);
    this.child = spawn(process.execPath, [...nodeArgs, join(repo, 'dist/operator/main.js')], {
      env: { ...process.env, SANDPOD_OPERATOR_CONFIG: configPath, POD_NAME: `bench-${run}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      this.log = (this.log + chunk.toString()).slice(-100_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
  }

  async synced(): Promise<void> {
    const deadline = performance.now() + 60_000;
    while (!/Synced caches/.test(this.log)) {
      if (this.child.exitCode !== null) throw new Error(`the operator exited:\n${this.log}`);
      if (performance.now() > deadline) throw new Error(`the operator did not sync within 60 s:\n${this.log}`);
      await sleep(100);
    }
  }

  /** CPU seconds the operator used so far (user + system), from /proc. */
  cpuSeconds(): number {
    const fields = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  }

  /** Resident and peak resident memory in KiB, from /proc. */
  memory(): { rss: number; peak: number } {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return { rss: field('VmRSS'), peak: field('VmHWM') };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}

function watchExecutions(kc: KubeConfig, timeline: Timeline) {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const executions = new WatchedObjects<Execution>({
    kubeConfig: kc,
    path: `/apis/${API_GROUP}/${API_VERSION}/namespaces/${executionNamespace}/executions`,
    list: () =>
      custom.listNamespacedCustomObject({
        group: API_GROUP,
        version: API_VERSION,
        namespace: executionNamespace,
        plural: 'executions',
      }) as Promise<KubernetesListObject<Execution>>,
    kind: 'Execution',
    log: quiet,
    backoff: { baseMs: 200, maxMs: 2_000 },
    slim: (execution) => ({
      ...execution,
      spec: { ...execution.spec, source: '' },
      metadata: { ...execution.metadata, managedFields: [] },
    }),
  });
  executions.onChange((execution) => {
    const phase = execution.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      const outcome = `${phase}/${execution.status?.reason ?? '?'}`;
      timeline.finished(execution.metadata.name, outcome, execution.status?.message ?? '');
    }
  });
  return executions;
}

const executionBody = (name: string, cancel: boolean) => ({
  apiVersion: `${API_GROUP}/${API_VERSION}`,
  kind: 'Execution',
  metadata: { name, namespace: executionNamespace, labels: { [TENANT_LABEL]: TENANT } },
  spec: { runtime: runtimeName, source: 'print(1)\n', ...(cancel ? { cancel: true } : {}) },
});

async function benchExecutions(
  kc: KubeConfig,
  operator: OperatorProcess,
): Promise<{ timeline: Timeline; peak: number }> {
  const timeline = new Timeline();
  const custom = kc.makeApiClient(CustomObjectsApi);
  const pods = watchPods(kc, executionNamespace, (pod) => pod.metadata?.labels?.['sandpod.dev/execution'], timeline);
  const executions = watchExecutions(kc, timeline);
  await Promise.all([pods.start(), executions.start()]);
  await Promise.all([pods.synced, executions.synced]);
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, operator.memory().rss);
  }, 500);
  await createAll('b', N, timeline, (name) => createExecution(custom, name, false));
  await untilDone(timeline, N, () => `\n  operator log tail:\n${operator.log.slice(-2_000)}`);
  clearInterval(sampler);
  await Promise.all([pods.stop(), executions.stop()]);
  return { timeline, peak };
}

async function createExecution(custom: CustomObjectsApi, name: string, cancelled: boolean): Promise<void> {
  await custom.createNamespacedCustomObject({
    group: API_GROUP,
    version: API_VERSION,
    namespace: executionNamespace,
    plural: 'executions',
    body: executionBody(name, cancelled),
  });
}

/** RSS with PRESENT more Executions in the watched namespace, each cancelled (finished, no pod). */
async function presentMemory(kc: KubeConfig, operator: OperatorProcess) {
  const timeline = new Timeline();
  const custom = kc.makeApiClient(CustomObjectsApi);
  const executions = watchExecutions(kc, timeline);
  await executions.start();
  await executions.synced;
  const before = operator.memory();
  await createAll('p', PRESENT, timeline, (name) => createExecution(custom, name, true));
  await untilDone(timeline, PRESENT);
  // The operator has written every status; let it settle, then read its memory a few times.
  const samples: number[] = [];
  for (let index = 0; index < 10; index++) {
    await sleep(1_000);
    samples.push(operator.memory().rss);
  }
  await executions.stop();
  return { before, after: operator.memory(), settled: Math.min(...samples), present: executions.list().length };
}

async function main(): Promise<void> {
  console.log(
    `\n== operator vs Job controller on kwok nodes (N=${N}, BENCH_PRESENT=${PRESENT}, operator workers ${WORKERS ?? 'default'}, api.qps ${QPS ?? 'default'})`,
  );
  const kc = kubeConfig();
  if (typeof kc === 'string') {
    console.log(`skipped: ${kc}`);
    return;
  }
  const problem = await clusterProblem(kc);
  if (problem) {
    console.log(`skipped: ${problem}`);
    return;
  }
  if (!existsSync(join(repo, 'dist/operator/main.js'))) throw new Error('dist/operator/main.js is missing: make build');
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const core = kc.makeApiClient(CoreV1Api);
  const stage = yaml.load(readFileSync(STAGE_FILE, 'utf8')) as KubernetesObject;
  const workDir = mkdtempSync(join(tmpdir(), 'sandpod-bench-operator-'));
  let operator: OperatorProcess | undefined;
  try {
    for (const namespace of [jobNamespace, executionNamespace]) {
      await core.createNamespace({ body: { metadata: { name: namespace } } });
    }
    // A Stage left by an interrupted run is replaced by this run's.
    await objects.delete(stage).catch(() => undefined);
    await objects.create(stage);
    await objects.create({
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: 'Runtime',
      metadata: { name: runtimeName },
      spec: { image: IMAGE, version: '0', fileName: 'main.py', run: ['python3', 'main.py'] },
    } as KubernetesObject);
    const configPath = join(workDir, 'operator.yaml');
    writeFileSync(
      configPath,
      yaml.dump({
        // The default level, as in production: one line per pod created, status change, delete.
        logLevel: 'info',
        watchNamespace: executionNamespace,
        pod: { runtimeClassName: '', nodeSelector, tolerations },
        // The Job controller has no per-namespace cap either.
        capacity: { maxRunningPerNamespace: 0 },
        leaderElection: { enabled: false },
        ...(WORKERS ? { queue: { workers: WORKERS } } : {}),
        ...(QPS !== undefined ? { api: { qps: QPS } } : {}),
        metrics: { host: '127.0.0.1', port: 0 },
        shutdownGraceMs: 2_000,
      }),
    );
    operator = new OperatorProcess(configPath);
    await operator.synced();
    const idle = operator.memory();

    console.log(`load average before the Jobs: ${load()}`);
    const jobs = WITH_JOBS ? (await benchJobs(kc)).summary() : new Timeline().summary();
    console.log(`load average before the Executions: ${load()}`);
    const cpuBefore = operator.cpuSeconds();
    const executions = await benchExecutions(kc, operator);
    const sandpod = executions.timeline.summary();
    const cpuUsed = operator.cpuSeconds() - cpuBefore;
    console.log(`load average after both: ${load()}`);

    const row = (name: string, side: ReturnType<Timeline['summary']>) =>
      `| ${name.padEnd(28)} | ${String(side.pods).padStart(5)} | ${ms(side.p50).padStart(8)} | ${ms(side.p99).padStart(8)} | ${String(side.completed).padStart(5)} | ${side.seconds.toFixed(1).padStart(6)} s | ${side.rate.toFixed(1).padStart(6)}/s |`;
    console.log('\n| side                         |  pods | pod p50  | pod p99  |  done |  elapsed |    rate |');
    console.log('| ---------------------------- | ----: | -------: | -------: | ----: | -------: | ------: |');
    if (WITH_JOBS) console.log(row('Job controller (kcm)', jobs));
    console.log(row('sandpod operator', sandpod));
    console.log(`outcomes: Jobs: ${jobs.outcomes}; Executions: ${sandpod.outcomes}`);
    console.log(`an Execution's message: "${executions.timeline.sampleMessage}"`);
    console.log(
      `created by the benchmark (${CREATE_CONCURRENCY} at a time) in: Jobs ${jobs.createdIn.toFixed(1)} s, ` +
        `Executions ${sandpod.createdIn.toFixed(1)} s; operator CPU during its ${N}: ${cpuUsed.toFixed(1)} s`,
    );
    console.log(
      'pod p50/p99: from sending the create to the pod appearing in a watch; rate: objects seen finished ' +
        '(Job Complete, Execution Succeeded/Failed) per second from the first create to the last finish.',
    );
    console.log(
      'an Execution ends after the operator read its pod logs: kwok nodes keep none and the API server ' +
        'answers 404 at once, which the operator takes as empty output (a failing read would be retried, ' +
        'then given up with the message saying so).',
    );
    console.log(
      `operator RSS: ${mib(idle.rss)} idle after sync, ${mib(executions.peak)} peak during the ${N} ` +
        '(the Job controller shares its process with the other controllers: its memory is not comparable)',
    );

    if (PRESENT > 0) {
      const memory = await presentMemory(kc, operator);
      console.log(
        `operator RSS with ${memory.present} Executions present (${PRESENT} cancelled on top of the ${N}): ` +
          `${mib(memory.settled)} settled (${mib(memory.before.rss)} before them, peak ${mib(memory.after.peak)})`,
      );
      // RSS keeps what the heap once grew to; a fresh operator shows what the cache itself costs.
      await operator.stop();
      operator = new OperatorProcess(configPath);
      const syncStarted = performance.now();
      await operator.synced();
      const syncSeconds = (performance.now() - syncStarted) / 1000;
      const fresh: number[] = [];
      for (let index = 0; index < 30; index++) {
        await sleep(1_000);
        fresh.push(operator.memory().rss);
      }
      console.log(
        `a fresh operator with the ${memory.present} present: synced in ${syncSeconds.toFixed(1)} s, ` +
          `RSS ${mib(fresh.at(-1) ?? 0)} 30 s later (peak ${mib(operator.memory().peak)}; its first pass ` +
          'looks at every finished Execution once)',
      );
    }
  } finally {
    await operator?.stop();
    await objects.delete(stage).catch(() => undefined);
    await objects
      .delete({ apiVersion: `${API_GROUP}/${API_VERSION}`, kind: 'Runtime', metadata: { name: runtimeName } })
      .catch(() => undefined);
    for (const namespace of [jobNamespace, executionNamespace]) {
      await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    }
    console.log(`deleting namespaces ${jobNamespace} and ${executionNamespace} (in the background)`);
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
