// `make bench`, warm pools: the gateway in Kubernetes mode and the operator (processes of their
// own) on the dev cluster's real node under gVisor, with a WarmPool of python (4 pods) and of c
// (2 pods) in the bench's namespace. Warm and cold run side by side in the same run, interleaved:
// a cold request asks for 1 MiB more memory than the pool's pods have, which is the only
// difference (every pod asks for the same CPU). Measures python hello world one at a time (submit
// to first output and to exit over Socket.IO, REST ?wait=true), executions per second at
// concurrency 4, and a C program compiled and run. Before each warm sample of the one-at-a-time
// phases the pool is back to full, so they measure a claim, not a replacement. Prints tables and
// how many requests the operator really served warm, and where a warm run's time goes: the
// operator logs when (epoch ms) each step of a warm run happened ("Warm run steps"), and each is
// put against when the bench sent the request and when the answer came. Asserts nothing. Skips
// when the dev cluster or its node is not there.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
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
  runtimeClassExists,
} from '../test/helpers/cluster-suite.js';
import { Child, connect, ensureRuntimes, runOverSocket, startGateway, writeConfig } from './lib/kube-bench.js';

const SAMPLES = Number(process.env.BENCH_WARM_SAMPLES ?? 20);
const THROUGHPUT_RUNS = Number(process.env.BENCH_WARM_THROUGHPUT_RUNS ?? 40);
const CONCURRENCY = 4;
const POD_CPUS = Number(process.env.BENCH_WARM_POD_CPUS ?? 0.25);
/** What each pod requests, when less than POD_CPUS: it may burst to POD_CPUS on idle cores. */
const POD_CPU_REQUEST = process.env.BENCH_WARM_POD_CPU_REQUEST
  ? Number(process.env.BENCH_WARM_POD_CPU_REQUEST)
  : undefined;
const POOL_SIZE = { python: 4, c: 2 } as const;
/** The pool's memory; a cold request asks for one MiB more. */
const POOL_MEMORY_MIB = 256;

const namespace = `sandpod-bench-warm-${process.pid}-${Date.now().toString(36)}`;
const tenant = { namespace, token: randomBytes(24).toString('hex') };

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const ms = (value: number) => (Number.isNaN(value) ? '-' : `${value.toFixed(0)} ms`);
const sorted = (values: number[]) => [...values].sort((a, b) => a - b);

type Mode = 'warm' | 'cold';
const MODES: Mode[] = ['warm', 'cold'];
const limitsOf = (mode: Mode) => ({ memoryMiB: mode === 'warm' ? POOL_MEMORY_MIB : POOL_MEMORY_MIB + 1 });
const HELLO = { runtime: 'python', source: 'print("hello")\n' };
const C_SUM = {
  runtime: 'c',
  source:
    '#include <stdio.h>\nint main(void) { int a, b; scanf("%d %d", &a, &b); printf("%d\\n", a + b); return 0; }\n',
  stdin: '2 40\n',
};

async function startOperator(dir: string): Promise<Child> {
  const config = writeConfig(dir, 'operator.yaml', {
    watchNamespace: namespace,
    leaderElection: { enabled: false },
    metrics: { host: '127.0.0.1', port: 0 },
    shutdownGraceMs: 2_000,
    pod: {
      runtimeClassName: runtimeClassExists('gvisor') ? 'gvisor' : '',
      cpus: POD_CPUS,
      ...(POD_CPU_REQUEST === undefined ? {} : { cpuRequest: POD_CPU_REQUEST }),
    },
    queue: { workers: 16 },
  });
  const operator = new Child('operator/main.ts', { SANDPOD_OPERATOR_CONFIG: config, LOG_LEVEL: 'info' });
  await operator.until(/Synced caches/, 'the operator');
  return operator;
}

function createPool(runtime: keyof typeof POOL_SIZE): void {
  const body = {
    apiVersion: 'sandpod.dev/v1alpha1',
    kind: 'WarmPool',
    metadata: { name: runtime, namespace },
    spec: { runtime, replicas: POOL_SIZE[runtime], limits: { memoryMiB: POOL_MEMORY_MIB } },
  };
  const created = kubectl(['apply', '-f', '-'], JSON.stringify(body));
  if (!created.ok) throw new Error(created.out);
}

/** Waits until the pool has all its pods ready again. */
async function poolFull(runtime: keyof typeof POOL_SIZE): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const ready = kubectl(['get', 'wp', runtime, '-n', namespace, '-o', 'jsonpath={.status.readyReplicas}']);
    if (ready.ok && Number(ready.out) === POOL_SIZE[runtime]) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`WarmPool ${runtime} did not get ${POOL_SIZE[runtime]} ready pods within 120 s`);
}

/** Whether the operator served the Execution from a pool (status.warm). */
function servedWarm(id: string): boolean {
  const warm = kubectl(['get', 'ex', id, '-n', namespace, '-o', 'jsonpath={.status.warm}']);
  return warm.ok && warm.out.trim() === 'true';
}

async function restWait(url: string, body: unknown): Promise<ExecutionResult> {
  const post = () =>
    fetch(`${url}/api/v1/executions?wait=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  // A kept-alive connection that the server closes just as it is reused fails before any answer;
  // the request is sent once more (a second Execution, which only adds to the count).
  const response = await post().catch(post);
  const result = (await response.json()) as ExecutionResult;
  if (response.status !== 200) throw new Error(`?wait=true answered ${response.status}: ${JSON.stringify(result)}`);
  if (result.reason !== 'Completed') throw new Error(`ended ${result.reason}: ${result.message}`);
  return result;
}

interface Samples {
  firstOutput: number[];
  exit: number[];
  rest: number[];
  compiled: number[];
  served: number;
  total: number;
}

/** The steps of a warm run in the operator (operator/reconciler.ts, WarmStep), in order. */
const WARM_STEPS = ['seen', 'claimed', 'named', 'attached', 'accepted', 'ended', 'finished'] as const;
const STEP_NAMES: Record<(typeof WARM_STEPS)[number], string> = {
  seen: "operator's pass begins (gateway create, watch, queue)",
  claimed: 'pod claimed (read of the whole object, PATCH)',
  named: 'status names the pod (status write)',
  attached: "delivery's attach open",
  accepted: 'launcher took the program',
  ended: "launcher's last report over the attach",
  finished: 'final status written',
};

/** Per path, each warm sample's steps in ms after the request was sent, and the client's own marks. */
type Breakdown = Record<string, number>[];

/** The operator's "Warm run steps" of one Execution, as ms after `sentEpochMs`; waits for the line. */
async function stepsOf(operator: Child, id: string, sentEpochMs: number): Promise<Record<string, number>> {
  const key = `${namespace}/${id}`;
  const deadline = Date.now() + 5_000;
  for (;;) {
    const line = operator.output
      .split('\n')
      .find((text) => text.includes('"Warm run steps"') && text.includes(`"${key}"`));
    if (line) {
      const steps = (JSON.parse(line) as { stepsEpochMs: Record<string, number> }).stepsEpochMs;
      return Object.fromEntries(Object.entries(steps).map(([step, at]) => [step, at - sentEpochMs]));
    }
    if (Date.now() > deadline) return {};
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const row = (name: string, values: number[]) => {
  const ordered = sorted(values.filter((value) => !Number.isNaN(value)));
  return `| ${name} | ${ms(percentile(ordered, 50))} | ${ms(percentile(ordered, 99))} | ${ordered.length} |`;
};

async function oneAtATime(
  url: string,
  operator: Child,
): Promise<{ samples: Record<Mode, Samples>; socketSteps: Breakdown; restSteps: Breakdown }> {
  const socketSteps: Breakdown = [];
  const restSteps: Breakdown = [];
  const samples = Object.fromEntries(
    MODES.map((mode) => [mode, { firstOutput: [], exit: [], rest: [], compiled: [], served: 0, total: 0 }]),
  ) as unknown as Record<Mode, Samples>;
  const count = (mode: Mode, id: string) => {
    samples[mode].total += 1;
    if (servedWarm(id) === (mode === 'warm')) samples[mode].served += 1;
  };
  const socket = await connect(url, tenant.token);
  for (let sample = 0; sample < SAMPLES; sample++) {
    for (const mode of MODES) {
      if (mode === 'warm') await poolFull('python');
      const socketSent = Date.now();
      const timed = await runOverSocket(socket, { ...HELLO, limits: limitsOf(mode) });
      if (timed.result.reason !== 'Completed') throw new Error(`hello world ended ${timed.result.reason}`);
      samples[mode].firstOutput.push(timed.firstOutputMs);
      samples[mode].exit.push(timed.exitMs);
      count(mode, timed.result.id);
      if (mode === 'warm') {
        const steps = await stepsOf(operator, timed.result.id, socketSent);
        socketSteps.push({
          ...steps,
          'first output at the client': timed.firstOutputMs,
          'exit at the client': timed.exitMs,
        });
      }
      if (mode === 'warm') await poolFull('python');
      const startedAt = performance.now();
      const restSent = Date.now();
      const result = await restWait(url, { ...HELLO, limits: limitsOf(mode) });
      const answeredMs = performance.now() - startedAt;
      samples[mode].rest.push(answeredMs);
      count(mode, result.id);
      if (mode === 'warm') {
        const steps = await stepsOf(operator, result.id, restSent);
        restSteps.push({ ...steps, 'answer at the client': answeredMs });
      }
      if (mode === 'warm') await poolFull('c');
      const compileStart = performance.now();
      const summed = await restWait(url, { ...C_SUM, limits: limitsOf(mode) });
      if (summed.stdout !== '42\n') throw new Error(`the C program wrote ${JSON.stringify(summed.stdout)}`);
      samples[mode].compiled.push(performance.now() - compileStart);
      count(mode, summed.id);
    }
  }
  socket.close();
  return { samples, socketSteps, restSteps };
}

/** The p50 of each step over the samples, in the order the steps happen. */
function printBreakdown(title: string, breakdown: Breakdown): void {
  console.log(`\n${title}: p50 ms after the request was sent (${breakdown.length} warm samples)\n`);
  console.log('| step | p50 | p99 |');
  console.log('| --- | --- | --- |');
  const names = [...new Set(breakdown.flatMap((steps) => Object.keys(steps)))];
  const order = (name: string) => {
    const index = (WARM_STEPS as readonly string[]).indexOf(name);
    return index >= 0 ? index : Number.POSITIVE_INFINITY;
  };
  const byP50 = names
    .map((name) => ({
      name,
      values: sorted(breakdown.map((steps) => steps[name] ?? Number.NaN).filter((v) => !Number.isNaN(v))),
    }))
    .sort((a, b) => percentile(a.values, 50) - percentile(b.values, 50) || order(a.name) - order(b.name));
  for (const { name, values } of byP50) {
    const label = STEP_NAMES[name as (typeof WARM_STEPS)[number]] ?? name;
    console.log(`| ${label} | ${ms(percentile(values, 50))} | ${ms(percentile(values, 99))} |`);
  }
}

/** Executions per second with CONCURRENCY requests in flight at all times; and how many went warm. */
async function throughput(url: string, mode: Mode): Promise<{ perSecond: number; warm: number }> {
  if (mode === 'warm') await poolFull('python');
  let next = 0;
  const ids: string[] = [];
  const startedAt = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < THROUGHPUT_RUNS) {
        next += 1;
        ids.push((await restWait(url, { ...HELLO, limits: limitsOf(mode) })).id);
      }
    }),
  );
  const seconds = (performance.now() - startedAt) / 1000;
  return { perSecond: THROUGHPUT_RUNS / seconds, warm: ids.filter(servedWarm).length };
}

async function main(): Promise<void> {
  const problem = clusterProblem() ?? (nodeReady() ? undefined : 'the dev cluster has no Ready node');
  if (problem) {
    console.log(`Warm pool bench skipped: ${problem}`);
    return;
  }
  installCrds();
  ensureRuntimes(['python', 'c']);
  const dir = mkdtempSync(path.join(tmpdir(), 'sandpod-bench-warm-'));
  createNamespace(namespace);
  const children: Child[] = [];
  try {
    const load = () =>
      loadavg()
        .map((value) => value.toFixed(2))
        .join(' ');
    console.log(`Warm pool bench in namespace ${namespace}; load average ${load()}`);
    const gateway = await startGateway(dir, tenant);
    children.push(gateway.child);
    const operator = await startOperator(dir);
    children.push(operator);
    createPool('python');
    createPool('c');
    await poolFull('python');
    await poolFull('c');
    // Warm-up: images and caches, in both modes.
    for (const mode of MODES) await restWait(gateway.url, { ...HELLO, limits: limitsOf(mode) });
    const { samples, socketSteps, restSteps } = await oneAtATime(gateway.url, operator);
    console.log(
      `\nOne at a time, ${SAMPLES} samples per row; pods ${POD_CPUS} CPU${POD_CPU_REQUEST === undefined ? '' : ` (${POD_CPU_REQUEST} requested)`}, ${POOL_MEMORY_MIB} MiB (cold: ${POOL_MEMORY_MIB + 1})\n`,
    );
    console.log('| mode | path | p50 | p99 | samples |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const mode of MODES) {
      const s = samples[mode];
      console.log(row(`${mode} | python: Socket.IO run -> first output`, s.firstOutput));
      console.log(row(`${mode} | python: Socket.IO run -> exit`, s.exit));
      console.log(row(`${mode} | python: REST ?wait=true`, s.rest));
      console.log(row(`${mode} | C compile and run: REST ?wait=true`, s.compiled));
    }
    for (const mode of MODES) {
      console.log(`${mode}: ${samples[mode].served} of ${samples[mode].total} served ${mode} as intended`);
    }
    printBreakdown('Warm python hello over Socket.IO, step by step', socketSteps);
    printBreakdown('Warm python hello over REST ?wait=true, step by step', restSteps);
    console.log(`\nPython hello world, ${THROUGHPUT_RUNS} Executions, ${CONCURRENCY} in flight (REST ?wait=true)\n`);
    console.log('| mode | executions/s | served warm |');
    console.log('| --- | --- | --- |');
    for (const mode of MODES) {
      const { perSecond, warm } = await throughput(gateway.url, mode);
      console.log(`| ${mode} | ${perSecond.toFixed(2)} | ${warm} of ${THROUGHPUT_RUNS} |`);
    }
    console.log(`\nload average at the end ${load()}`);
  } finally {
    for (const child of children.reverse()) await child.stop();
    deleteNamespace(namespace);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
