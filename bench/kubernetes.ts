// `make bench`, Kubernetes part: the gateway in Kubernetes mode (its own process) and the operator
// (its own process, watching a namespace of this run's own) on the dev cluster's real node, where
// every execution is a gVisor pod. Measures hello-world (python) latency over Socket.IO (submit to
// first `output`, submit to `exit`) and REST `?wait=true`, then many sockets at once, each
// following a program that prints a line every 100 ms: output events per second delivered,
// executions completed per second, and how late lines arrive; a C solution judged on 100 tests
// as one Execution with `tests` against 100 Executions in one batch (bench/judging.ts does the
// same on the embedded backend). Also how late a prompt (a write that ends no line) reaches the
// Socket.IO client of an interactive program, beside the same program in embedded mode (a gateway
// process of its own, runc and, when built, runsc). Prints tables; asserts nothing. Skips, saying
// why, when the dev cluster or its node is not there.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import type { ExecutionResult } from '../contract/index.js';
import {
  clusterProblem,
  createNamespace,
  deleteNamespace,
  installCrds,
  kubectl,
  nodeReady,
  repoPath,
  runtimeClassExists,
} from '../test/helpers/cluster-suite.js';
import {
  Child,
  CLOCK_TICKS_PER_SECOND,
  connect as connectSocket,
  ensureRuntimes,
  runOverSocket,
  startGateway as startBenchGateway,
  writeConfig,
} from './lib/kube-bench.js';

const SAMPLES = Number(process.env.BENCH_K8S_SAMPLES ?? 20);
/** Sockets streaming at once, one execution each. */
const SOCKETS = Number(process.env.BENCH_K8S_SOCKETS ?? 100);
/** Executions the operator runs at once at most; fewer when their pods' CPU would not fit the node. */
const RUNNING = Number(process.env.BENCH_K8S_RUNNING ?? 20);
const LINES = Number(process.env.BENCH_K8S_LINES ?? 30);
/** CPU of each pod under load: small enough that RUNNING pods fit the node's CPU requests. */
const LOAD_POD_CPUS = Number(process.env.BENCH_K8S_POD_CPUS ?? 0.08);
/** Prompts per execution, and executions, of the prompt phase. */
const PROMPTS = Number(process.env.BENCH_PROMPTS ?? 50);
const PROMPT_RUNS = Number(process.env.BENCH_PROMPT_RUNS ?? 4);
/** Which phases run: any of latency, judging, prompt, load. */
const PHASES = new Set((process.env.BENCH_K8S_PHASES ?? 'latency,judging,prompt,load').split(','));

const run = `${process.pid}-${Date.now().toString(36)}`;
const namespace = `sandpod-bench-${run}`;
const token = randomBytes(24).toString('hex');

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const ms = (value: number) => (Number.isNaN(value) ? '-' : `${value.toFixed(0)} ms`);
const sorted = (values: number[]) => [...values].sort((a, b) => a - b);

const tenant = { namespace, token };
const startGateway = (dir: string, backend?: 'kubernetes' | 'embedded', env?: Record<string, string>) =>
  startBenchGateway(dir, tenant, backend, env);
const connect = (url: string) => connectSocket(url, token);

/** CPU cores of the node that no running pod has requested yet (the scheduler's view). */
function unrequestedNodeCpus(): number {
  const node = kubectl(['get', 'nodes', '-o', 'jsonpath={.items[0].status.allocatable.cpu}']);
  const requests = kubectl([
    'get',
    'pods',
    '--all-namespaces',
    '--field-selector=status.phase!=Succeeded,status.phase!=Failed',
    '-o',
    'jsonpath={range .items[*].spec.containers[*]}{.resources.requests.cpu}{"\\n"}{end}',
  ]);
  if (!node.ok || !requests.ok) throw new Error(`cannot read the node's CPU: ${node.out} ${requests.out}`);
  const cores = (quantity: string) =>
    quantity.endsWith('m') ? Number(quantity.slice(0, -1)) / 1000 : Number(quantity);
  const requested = requests.out
    .split('\n')
    .filter(Boolean)
    .reduce((sum, quantity) => sum + cores(quantity), 0);
  return cores(node.out.trim()) - requested;
}

/**
 * The operator, its pods asking for podCpus each. It runs no more Executions at once than the
 * node's free CPU fits: a pod the scheduler cannot place waits Pending, and one that waits past the
 * operator's start timeout ends SystemError, which would count against the figure being measured.
 */
async function startOperator(dir: string, podCpus: number): Promise<Child> {
  const running = Math.max(1, Math.min(RUNNING, Math.floor(unrequestedNodeCpus() / podCpus)));
  console.log(`operator: pods of ${podCpus} CPU, at most ${running} running at once`);
  const config = writeConfig(dir, `operator-${podCpus}.yaml`, {
    watchNamespace: namespace,
    leaderElection: { enabled: false },
    metrics: { host: '127.0.0.1', port: 0 },
    shutdownGraceMs: 2_000,
    pod: { runtimeClassName: runtimeClassExists('gvisor') ? 'gvisor' : '', cpus: podCpus },
    capacity: { maxRunningPerNamespace: running },
    queue: { workers: 32 },
  });
  const operator = new Child('operator/main.ts', { SANDPOD_OPERATOR_CONFIG: config, LOG_LEVEL: 'info' });
  await operator.until(/Synced caches/, 'the operator');
  return operator;
}

async function restWait(url: string): Promise<ExecutionResult> {
  const response = await fetch(`${url}/api/v1/executions?wait=true`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ runtime: 'python', source: 'print("hello")\n' }),
  });
  const result = (await response.json()) as ExecutionResult;
  if (response.status !== 200) throw new Error(`?wait=true answered ${response.status}: ${JSON.stringify(result)}`);
  return result;
}

function checkCompleted(result: ExecutionResult, what: string): void {
  if (result.reason !== 'Completed') throw new Error(`${what} ended ${result.reason}: ${result.message}`);
}

/** CPU ticks the whole machine (node included) has spent since boot, from /proc/stat. */
function machineBusyTicks(): number {
  const [, ...ticks] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks.map(Number);
  return user + nice + system + irq + softirq + steal;
}

const JUDGED_TESTS = Number(process.env.BENCH_TESTS ?? 100);
const JUDGED_SOLUTION =
  '#include <stdio.h>\nint main(void) { long n; if (scanf("%ld", &n) != 1) return 1; printf("%ld\\n", n * 2); return 0; }\n';

async function api(url: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const parsed = await response.json();
  if (response.status >= 300) throw new Error(`${path} answered ${response.status}: ${JSON.stringify(parsed)}`);
  return parsed;
}

/** Each test's reason and usage as the result tells them: a test of one Execution, or an Execution. */
function judgedTests(results: ExecutionResult[]): { reason: string; message: string; cpuTimeMs: number }[] {
  return results.flatMap((result) =>
    result.tests
      ? result.tests.map((test) => ({
          reason: test.reason,
          message: test.message,
          cpuTimeMs: test.usage?.cpuTimeMs ?? 0,
        }))
      : [{ reason: result.reason ?? '', message: result.message, cpuTimeMs: result.usage?.cpuTimeMs ?? 0 }],
  );
}

/** What did not pass, counted by reason and message, so a figure short of 100/100 says why. */
function notAccepted(tests: { reason: string; message: string }[]): string {
  const counts = new Map<string, number>();
  for (const test of tests) {
    if (test.reason === 'Accepted') continue;
    const key = `${test.reason}: ${test.message.slice(0, 160)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, count]) => `${count} × ${key}`).join('\n');
}

/**
 * Wall time and CPU per test of one layout: the whole machine (node, pods and all), the gateway
 * and operator processes, and the program's own as the launcher measured it; with how many tests
 * were Accepted.
 */
async function judgedRow(
  layout: string,
  processes: { gateway: Child; operator: Child },
  action: () => Promise<ExecutionResult[]>,
): Promise<string> {
  const busy = machineBusyTicks();
  const ownBefore = processes.gateway.cpuSeconds() + processes.operator.cpuSeconds();
  const startedAt = performance.now();
  const tests = judgedTests(await action());
  const wallMs = performance.now() - startedAt;
  const cpuMs = ((machineBusyTicks() - busy) * 1000) / CLOCK_TICKS_PER_SECOND;
  const processesMs = (processes.gateway.cpuSeconds() + processes.operator.cpuSeconds() - ownBefore) * 1000;
  const programMs = tests.reduce((total, test) => total + test.cpuTimeMs, 0);
  const accepted = tests.filter((test) => test.reason === 'Accepted').length;
  if (accepted < JUDGED_TESTS) console.log(`${layout}, not accepted:\n${notAccepted(tests) || '(no result)'}`);
  const perTest = (value: number) => `${(value / JUDGED_TESTS).toFixed(1)} ms`;
  return `| ${layout} | ${(wallMs / 1000).toFixed(1)} s | ${perTest(wallMs)} | ${perTest(cpuMs)} | ${perTest(processesMs)} | ${perTest(programMs)} | ${accepted}/${JUDGED_TESTS} |`;
}

async function judgingPhase(url: string, processes: { gateway: Child; operator: Child }): Promise<void> {
  const tests = Array.from({ length: JUDGED_TESTS }, (_, index) => ({
    stdin: `${index}\n`,
    expectedOutput: `${index * 2}\n`,
  }));
  const request = { runtime: 'c', source: JUDGED_SOLUTION };
  await api(url, '/api/v1/executions?wait=true', { ...request, stdin: '1', expectedOutput: '2' }); // warm-up
  const one = await judgedRow(`1 Execution, ${JUDGED_TESTS} tests`, processes, async () => [
    (await api(url, '/api/v1/executions?wait=true', { ...request, tests })) as ExecutionResult,
  ]);
  const many = await judgedRow(`${JUDGED_TESTS} Executions, one batch`, processes, async () => {
    const { items } = (await api(url, '/api/v1/executions/batch', {
      executions: tests.map((test) => ({ ...request, ...test })),
    })) as { items: { id?: string; error?: unknown }[] };
    const ids = items.flatMap((item) => (item.id ? [item.id] : []));
    const refused = items.flatMap((item) => (item.error ? [JSON.stringify(item.error)] : []));
    if (refused.length > 0) console.log(`batch items refused: ${refused.length}; first: ${refused[0]}`);
    for (;;) {
      const { items: results } = (await api(url, `/api/v1/executions?ids=${ids.join(',')}`)) as {
        items: ExecutionResult[];
      };
      if (results.every((result) => result.phase === 'Succeeded' || result.phase === 'Failed')) return results;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  });
  console.log(
    `\nJudging a C solution on ${JUDGED_TESTS} tests (gVisor pods of 1 CPU, as many running as the node fits)`,
  );
  console.log('| layout | wall | wall per test | CPU per test: machine | gateway and operator | program | accepted |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  console.log(one);
  console.log(many);
}

async function latencyPhase(url: string): Promise<void> {
  const hello = { runtime: 'python', source: 'print("hello")\n' };
  const socket = await connect(url);
  checkCompleted((await runOverSocket(socket, hello)).result, 'warm-up'); // warm-up: image and caches
  const firstOutput: number[] = [];
  const exit: number[] = [];
  for (let sample = 0; sample < SAMPLES; sample++) {
    const timed = await runOverSocket(socket, hello);
    checkCompleted(timed.result, 'hello world');
    firstOutput.push(timed.firstOutputMs);
    exit.push(timed.exitMs);
  }
  socket.close();
  const rest: number[] = [];
  for (let sample = 0; sample < SAMPLES; sample++) {
    const startedAt = performance.now();
    checkCompleted(await restWait(url), 'hello world over REST');
    rest.push(performance.now() - startedAt);
  }
  const row = (name: string, values: number[]) => {
    const ordered = sorted(values.filter((value) => !Number.isNaN(value)));
    return `| ${name} | ${ms(percentile(ordered, 50))} | ${ms(percentile(ordered, 99))} | ${ordered.length} of ${values.length} |`;
  };
  console.log(`\nHello world (python), one at a time, ${SAMPLES} samples each:\n`);
  console.log('| path | p50 | p99 | samples with a value |');
  console.log('| --- | --- | --- | --- |');
  console.log(row('Socket.IO run -> first output', firstOutput));
  console.log(row('Socket.IO run -> exit', exit));
  console.log(row('REST ?wait=true', rest));
}

/**
 * Each prompt is `<index> <epoch ms>? ` and ends no line; the program asks the next once the
 * client answered. How late a prompt arrives is the receive time minus the time in it (the
 * program and this benchmark read the same machine's clock; gVisor's follows the host's).
 */
const PROMPTER = [
  'import sys, time',
  `for i in range(${PROMPTS}):`,
  '    sys.stdout.write("%d %.1f? " % (i, time.time() * 1000))',
  '    sys.stdout.flush()',
  '    if not sys.stdin.readline():',
  '        break',
  'print("done")',
  '',
].join('\n');

/** Lags of every prompt of PROMPT_RUNS interactive executions, each answered as it arrives. */
async function promptLags(url: string): Promise<{ lags: number[]; firstPrompts: number[]; failures: string[] }> {
  const socket = await connect(url);
  const lags: number[] = [];
  const firstPrompts: number[] = [];
  const failures: string[] = [];
  const body = { runtime: 'python', source: PROMPTER, interactive: true, limits: { wallTimeMs: 60_000 } };
  try {
    checkCompleted((await runOverSocket(socket, { runtime: 'python', source: 'print(1)\n' })).result, 'warm-up');
    for (let execution = 0; execution < PROMPT_RUNS; execution++) {
      const answer = (data: string, _first: boolean, id: string) => {
        const now = Date.now();
        for (const match of data.matchAll(/(\d+) (\d+\.\d)\? /g)) {
          lags.push(now - Number(match[2]));
          socket.emit('stdin', { id, data: '\n' });
        }
      };
      const { result, firstOutputMs } = await runOverSocket(socket, body, answer);
      firstPrompts.push(firstOutputMs);
      if (result.reason !== 'Completed' || !result.stdout.endsWith('done\n')) {
        failures.push(`${result.reason}: ${result.message ?? ''} ${result.stdout.slice(-80)}`);
      }
    }
  } finally {
    socket.close();
  }
  return { lags, firstPrompts, failures };
}

async function promptPhase(dir: string, kubernetesUrl: string): Promise<void> {
  const targets: { name: string; url?: string; env?: Record<string, string> }[] = [
    { name: 'Kubernetes (gVisor pod, attach)', url: kubernetesUrl },
    { name: 'embedded, runc', env: { SANDPOD_OCI_RUNTIME: 'runc' } },
  ];
  try {
    const runsc = execFileSync(repoPath('scripts/tool-path.sh'), ['runsc'], { encoding: 'utf8' }).trim();
    targets.push({
      name: 'embedded, runsc (gVisor)',
      env: { SANDPOD_OCI_RUNTIME: 'runsc', SANDPOD_OCI_RUNTIME_PATH: runsc },
    });
  } catch (error) {
    console.log(`(embedded runsc row left out: ${String(error).split('\n')[0]})`);
  }
  const rows: string[] = [];
  for (const target of targets) {
    let embedded: Child | undefined;
    try {
      let url = target.url;
      if (!url) {
        const started = await startGateway(dir, 'embedded', target.env);
        embedded = started.child;
        url = started.url;
      }
      const { lags, firstPrompts, failures } = await promptLags(url);
      const ordered = sorted(lags);
      rows.push(
        `| ${target.name} | ${ms(percentile(ordered, 50))} | ${ms(percentile(ordered, 99))} | ${ms(ordered.at(-1) ?? Number.NaN)} | ${ordered.length} of ${PROMPTS * PROMPT_RUNS} | ${ms(percentile(sorted(firstPrompts), 50))} |`,
      );
      if (failures.length > 0) console.log(`${target.name}: not completed: ${failures.join('; ')}`);
    } finally {
      await embedded?.stop();
    }
  }
  console.log(
    `\nPrompt without a newline, written to received as a Socket.IO \`output\` event; python, interactive, ` +
      `${PROMPT_RUNS} executions of ${PROMPTS} prompts, each answered as it arrives:\n`,
  );
  console.log('| backend | p50 | p99 | max | prompts received | `run` -> first prompt, p50 |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(row);
}

/** Each line is `<index> <epoch ms>`; how late a line arrives is the receive time minus that. */
const STREAMER = `import time\nfor i in range(${LINES}):\n    print(i, int(time.time() * 1000), flush=True)\n    time.sleep(0.1)\n`;

async function loadPhase(url: string, gateway: Child): Promise<void> {
  const sockets = await Promise.all(Array.from({ length: SOCKETS }, () => connect(url)));
  let outputEvents = 0;
  let lines = 0;
  const lags: number[] = [];
  /** Lags of lines after an execution's first output event: live streaming, without the catch-up. */
  const liveLags: number[] = [];
  const body = { runtime: 'python', source: STREAMER, limits: { wallTimeMs: 60_000, memoryMiB: 64 } };
  const startedAt = performance.now();
  const gatewayCpuBefore = gateway.cpuSeconds();
  const results = await Promise.all(
    sockets.map((socket) =>
      runOverSocket(socket, body, (data, first) => {
        outputEvents += 1;
        const now = Date.now();
        for (const line of data.split('\n')) {
          const printedAt = Number(line.split(' ')[1]);
          if (!Number.isFinite(printedAt)) continue;
          lines += 1;
          lags.push(now - printedAt);
          if (!first) liveLags.push(now - printedAt);
        }
      }).then(
        (timed) => timed.result,
        (error: unknown) => ({ reason: 'SystemError', message: String(error) }) as ExecutionResult,
      ),
    ),
  );
  const seconds = (performance.now() - startedAt) / 1000;
  const gatewayCpu = gateway.cpuSeconds() - gatewayCpuBefore;
  for (const socket of sockets) socket.close();
  const completed = results.filter((result) => result.reason === 'Completed').length;
  const ordered = sorted(lags);
  const live = sorted(liveLags);
  console.log(
    `\n${SOCKETS} sockets at once, each running a program that prints ${LINES} lines 100 ms apart; ` +
      `the operator runs at most ${RUNNING} at a time (pods of ${LOAD_POD_CPUS} CPU), the rest wait in Pending:\n`,
  );
  console.log('| figure | value |');
  console.log('| --- | --- |');
  console.log(`| wall time, first run to last exit | ${seconds.toFixed(1)} s |`);
  console.log(`| executions completed | ${completed} of ${SOCKETS} |`);
  console.log(`| executions completed per second | ${(completed / seconds).toFixed(2)}/s |`);
  console.log(`| output events delivered per second | ${(outputEvents / seconds).toFixed(1)}/s |`);
  console.log(`| lines delivered | ${lines} of ${SOCKETS * LINES} |`);
  console.log(
    `| gateway process CPU | ${gatewayCpu.toFixed(1)} s (${((100 * gatewayCpu) / seconds).toFixed(0)}% of one core) |`,
  );
  const lagRow = (what: string, values: number[]) =>
    `| ${what} p50 / p99 / max | ${ms(percentile(values, 50))} / ${ms(percentile(values, 99))} / ${ms(values.at(-1) ?? Number.NaN)} |`;
  console.log(lagRow('event lag, printed to received, every line', ordered));
  console.log(lagRow(`event lag after each execution's first output event (${live.length} lines)`, live));
  const failed = results.filter((result) => result.reason !== 'Completed');
  if (failed.length > 0)
    console.log(`\nnot completed: ${failed.map((result) => `${result.reason} (${result.message})`).join('; ')}`);
}

async function main(): Promise<void> {
  const problem = clusterProblem() ?? (nodeReady() ? undefined : 'the dev cluster has no Ready node');
  if (problem) {
    console.log(`Kubernetes bench skipped: ${problem}`);
    return;
  }
  installCrds();
  ensureRuntimes(['python', 'c']);
  const dir = mkdtempSync(path.join(tmpdir(), 'sandpod-bench-k8s-'));
  createNamespace(namespace);
  const children: Child[] = [];
  try {
    console.log(
      `Kubernetes gateway bench in namespace ${namespace}; load average ${loadavg()
        .map((load) => load.toFixed(2))
        .join(' ')}`,
    );
    const gateway = await startGateway(dir);
    children.push(gateway.child);
    let operator = await startOperator(dir, 1);
    children.push(operator);
    if (PHASES.has('latency')) await latencyPhase(gateway.url);
    if (PHASES.has('judging')) await judgingPhase(gateway.url, { gateway: gateway.child, operator });
    if (PHASES.has('prompt')) await promptPhase(dir, gateway.url);
    if (PHASES.has('load')) {
      // Under load the pods ask for less CPU, so that RUNNING of them fit the node's 2 cores.
      await operator.stop();
      operator = await startOperator(dir, LOAD_POD_CPUS);
      children.push(operator);
      await loadPhase(gateway.url, gateway.child);
    }
    console.log(
      `\nload average at the end ${loadavg()
        .map((load) => load.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    for (const child of children.reverse()) await child.stop();
    deleteNamespace(namespace);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
