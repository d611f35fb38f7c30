// `make bench`: hello-world latency per runtime through REST `?wait=true`, and executions per
// second at concurrency 1, 2 and 8, each next to its floor on the same machine: the bare
// interpreter, and the same program under the OCI runtime alone (one prepared bundle, no gateway,
// no cgroup or scratch set-up). The machine is shared, so what is compared is measured interleaved:
// latency sample by sample, throughput in alternating rounds, and a change of load falls on the
// floor and the gateway alike. Both floors start their processes through sandpod-spawner, as the
// gateway does, so that no side pays for forking this benchmark's Node process; the client is
// node:http with keep-alive, whose cost per request is a third of fetch's. Prints a table;
// asserts nothing.
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import winston from 'winston';
import { createApp } from '../gateway/app.js';
import { parseConfig } from '../gateway/config.js';
import { createEmbeddedBackend } from '../gateway/embedded/index.js';
import { Mounter } from '../sandbox/mounter.js';
import { buildStepSpec, type SeccompProfile } from '../sandbox/oci-spec.js';
import { prepareRootfs } from '../sandbox/rootfs.js';
import { mountScratch } from '../sandbox/scratch.js';
import { Spawner } from '../sandbox/spawner.js';

const run = promisify(execFile);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 80);
const THROUGHPUT_RUNS = Number(process.env.BENCH_RUNS ?? 96);
const THROUGHPUT_ROUNDS = 4;
const WORKERS = [0, 1, 2, 3, 4, 5, 6, 7];

const HELLO: Record<string, { source: string; bare: string[] }> = {
  python: { source: 'print("hello")', bare: ['/usr/bin/python3', '-c', 'print("hello")'] },
  javascript: { source: 'console.log("hello")', bare: ['/usr/bin/node', '-e', 'console.log("hello")'] },
  bash: { source: 'echo hello', bare: ['/usr/bin/bash', '-c', 'echo hello'] },
  c: { source: '#include <stdio.h>\nint main(void){puts("hello");}', bare: [] },
  cpp: { source: '#include <iostream>\nint main(){std::cout<<"hello\\n";}', bare: [] },
};

/** The runtimes that are one interpreter run, so that runc alone can run them too. */
const INTERPRETED = ['python', 'javascript', 'bash'];

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const ms = (value: number) => (Number.isNaN(value) ? '-' : `${value.toFixed(0)} ms`);

async function timeOnce(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

type Latency = { p50: number; p99: number };
const NO_LATENCY: Latency = { p50: NaN, p99: NaN };

/** p50 and p99 of each action, timed in turn sample by sample after one warm-up each. */
async function latencies(samples: number, actions: (() => Promise<unknown>)[]): Promise<Latency[]> {
  for (const action of actions) await action();
  const times = actions.map((): number[] => []);
  for (let index = 0; index < samples; index++) {
    for (const [which, action] of actions.entries()) times[which]?.push(await timeOnce(action));
  }
  return times.map((sorted) => {
    sorted.sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  });
}

/** Runs `total` actions, `concurrency` at a time. */
async function batch(concurrency: number, total: number, action: (worker: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (next++ < total) await action(worker);
    }),
  );
}

/** /proc/stat counts in these. */
const clockTicksPerSecond = run('getconf', ['CLK_TCK']).then(({ stdout }) => Number(stdout.trim()) || 100);

/** CPU time the whole machine has spent since boot, in milliseconds, from /proc/stat. */
async function machineBusyMs(): Promise<number> {
  const [, ...ticks] = ((await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '').trim().split(/\s+/);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks.map(Number);
  return ((user + nice + system + irq + softirq + steal) * 1000) / (await clockTicksPerSecond);
}

/** This process's own CPU time in milliseconds: the in-process gateway and the bench's client. */
const ownCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

interface Throughput {
  perSecond: number;
  /** CPU per execution, of the whole machine and of this process. */
  machineMs: number;
  ownMs: number;
}

/** Executions per second of each action, from rounds that take turns, and their CPU cost. */
async function throughputs(
  concurrency: number,
  total: number,
  actions: ((worker: number) => Promise<unknown>)[],
): Promise<Throughput[]> {
  const perRound = Math.ceil(total / THROUGHPUT_ROUNDS);
  const spent = actions.map(() => ({ elapsedMs: 0, machineMs: 0, ownMs: 0 }));
  for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
    for (const [which, action] of actions.entries()) {
      const [started, machineBefore, ownBefore] = [performance.now(), await machineBusyMs(), ownCpuMs()];
      await batch(concurrency, perRound, action);
      const sum = spent[which] as (typeof spent)[number];
      sum.elapsedMs += performance.now() - started;
      sum.machineMs += (await machineBusyMs()) - machineBefore;
      sum.ownMs += ownCpuMs() - ownBefore;
    }
  }
  const runs = perRound * THROUGHPUT_ROUNDS;
  return spent.map(({ elapsedMs, machineMs, ownMs }) => ({
    perSecond: runs / (elapsedMs / 1000),
    machineMs: machineMs / runs,
    ownMs: ownMs / runs,
  }));
}

let floorSpawner: Spawner | undefined;

/** Runs a floor's command to its end through the spawner; only a clean exit counts. */
async function spawnQuiet(argv: string[]): Promise<void> {
  const [command, ...args] = argv as [string, ...string[]];
  const outcome = await (floorSpawner as Spawner).run(command, args, { PATH: '/usr/bin:/bin' });
  if (outcome.code !== 0) throw new Error(`${command} exited ${outcome.signal ?? outcome.code}: ${outcome.stderr}`);
}

/** POST ?wait=true and the parsed answer, over a kept-alive connection. */
function postAndWait(agent: Agent, url: URL, body: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sent = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
        response.on('error', reject);
      },
    );
    sent.on('error', reject);
    sent.end(body);
  });
}

/** The OCI runtime alone: one bundle prepared once, run again and again under fresh ids. */
async function rawSandbox(stateDir: string) {
  const seccomp = JSON.parse(
    await import('node:fs/promises').then((fs) => fs.readFile('config/seccomp.json', 'utf8')),
  ) as SeccompProfile;
  const rootfs = await prepareRootfs(stateDir, [65534], 65534);
  const scratch = await mountScratch({
    mounter: new Mounter(),
    mountPoint: join(stateDir, 'scratch'),
    sizeMiB: 64,
    uid: 65534,
    gid: 65534,
  });
  // One bundle per program and worker: containers running at once need cgroups of their own.
  const bundles = new Map<string, string>();
  const programs = INTERPRETED.map((name) => [name, HELLO[name]?.bare ?? []] as const);
  for (const [name, argv] of programs.flatMap(([name, argv]) =>
    WORKERS.map((worker) => [`${name}-${worker}`, argv] as const),
  )) {
    const bundle = join(stateDir, `bundle-${name}`);
    await mkdir(bundle, { recursive: true });
    const spec = buildStepSpec({
      argv,
      recursiveMountFlags: false,
      env: { PATH: '/usr/bin:/bin' },
      uid: 65534,
      gid: 65534,
      rootfsPath: rootfs.rootfsPath,
      readOnlyBinds: rootfs.readOnlyBinds,
      scratch: { kind: 'host', work: scratch.work, tmp: scratch.tmp, shm: scratch.shm },
      cgroupsPath: `/sandpod-bench/${name}`,
      seccomp,
      openFiles: 256,
      pids: 64,
    });
    await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
    bundles.set(name, bundle);
  }
  let counter = 0;
  return {
    run: (name: string, worker = 0) =>
      spawnQuiet([
        'runc',
        '--root',
        join(stateDir, 'runc'),
        'run',
        '--bundle',
        bundles.get(`${name}-${worker}`) ?? '',
        `bench-${process.pid}-${counter++}`,
      ]),
    close: () => scratch.release(),
  };
}

/** The machine is shared: the figures only mean something beside how busy it was. */
const loadAverage = () =>
  loadavg()
    .map((load) => load.toFixed(2))
    .join(' ');

const rssOf = async (pid: number) => {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
};
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/**
 * The gateway's own memory, as a separate process, while programs flood their output: it should
 * grow by the output kept (bounded by the cap), not with how much the programs try to write. And
 * its throughput before and after, holding that output: starting a process must not cost more as
 * the gateway's memory grows.
 */
async function floodMemory(outputBytes: number, stateDir: string): Promise<void> {
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address() as AddressInfo;
      probe.close(() => resolve(free));
    });
  });
  const configPath = join(stateDir, 'config.yaml');
  await mkdir(stateDir, { recursive: true });
  await writeFile(
    configPath,
    `tenantDefaults:\n  ratePerSecond: 1000\n  burst: 1000\nembedded:\n  stateDir: ${join(stateDir, 'state')}\n  maxRunning: 8\n`,
  );
  const gatewayProcess = spawn(process.execPath, ['dist/gateway/main.js'], {
    env: { ...process.env, PORT: String(port), SANDPOD_CONFIG: configPath, LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  const base = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 100; attempt++) {
    if (
      await fetch(`${base}/readyz`).then(
        (response) => response.ok,
        () => false,
      )
    )
      break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const agent = new Agent({ keepAlive: true });
  const helloUrl = new URL(`${base}/api/v1/executions?wait=true`);
  const hello = JSON.stringify({ runtime: 'python', source: HELLO.python?.source });
  const rateAtEight = async () => {
    const started = performance.now();
    await batch(8, THROUGHPUT_RUNS, () => postAndWait(agent, helloUrl, hello));
    return `${(THROUGHPUT_RUNS / ((performance.now() - started) / 1000)).toFixed(1)}/s`;
  };
  const pid = gatewayProcess.pid as number;
  const rateBefore = await rateAtEight();
  const rssBefore = await rssOf(pid);
  console.log(`\ngateway process memory while \`yes\` floods its output (cap ${mib(outputBytes)} per run)\n`);
  console.log('| floods at once | gateway RSS before | peak | after | output kept per run |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const floods of [1, 8, 8]) {
    const before = await rssOf(pid);
    let peak = before;
    const sampler = setInterval(() => void rssOf(pid).then((rss) => (peak = Math.max(peak, rss))), 20);
    const kept = await Promise.all(
      Array.from({ length: floods }, async () => {
        const response = await fetch(`${base}/api/v1/executions?wait=true`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ runtime: 'bash', source: 'yes', limits: { outputBytes } }),
        });
        return ((await response.json()) as { stdout: string }).stdout.length;
      }),
    );
    clearInterval(sampler);
    console.log(`| ${floods} | ${mib(before)} | ${mib(peak)} | ${mib(await rssOf(pid))} | ${mib(kept[0] ?? 0)} |`);
  }
  const rateAfter = await rateAtEight();
  console.log(`\n${THROUGHPUT_RUNS} python hello worlds at concurrency 8 through this gateway process:\n`);
  console.log('| when | gateway RSS | executions per second |');
  console.log('| --- | --- | --- |');
  console.log(`| before the floods | ${mib(rssBefore)} | ${rateBefore} |`);
  console.log(`| after, holding their output | ${mib(await rssOf(pid))} | ${rateAfter} |`);
  agent.destroy();
  gatewayProcess.kill('SIGTERM');
  await new Promise((resolve) => gatewayProcess.once('exit', resolve));
}

async function main(): Promise<void> {
  const stateDir = `/run/sandpod-bench/${process.pid}`;
  const config = parseConfig({
    port: 0,
    // The start rate limit would cut a fast row short with 429s; it is not what is measured here.
    tenantDefaults: { ratePerSecond: 1000, burst: 1000 },
    embedded: {
      stateDir: join(stateDir, 'gateway'),
      maxQueued: 1000,
      ...(process.env.BENCH_MAX_RUNNING ? { maxRunning: Number(process.env.BENCH_MAX_RUNNING) } : {}),
    },
  });
  const log = winston.createLogger({ silent: true });
  const backend = await createEmbeddedBackend(config, log);
  const gateway = createApp({ config, backend, log });
  await new Promise<void>((resolve) => gateway.httpServer.listen(0, '127.0.0.1', resolve));
  const url = new URL(
    `http://127.0.0.1:${(gateway.httpServer.address() as AddressInfo).port}/api/v1/executions?wait=true`,
  );
  const agent = new Agent({ keepAlive: true });
  floorSpawner = new Spawner(config.embedded.spawnerPath);
  const viaGateway = async (runtime: string) => {
    const body = JSON.stringify({ runtime, source: HELLO[runtime]?.source });
    const result = (await postAndWait(agent, url, body)) as { reason?: string };
    if (result.reason !== 'Completed') throw new Error(`${runtime}: ${JSON.stringify(result)}`);
  };
  const raw = await rawSandbox(join(stateDir, 'raw'));
  const { stdout: cpuModel } = await run('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]);

  console.log(
    `sandpod embedded benchmark — ${new Date().toISOString()}, ${cpuModel.trim()}, ${process.env.SANDPOD_OCI_RUNTIME ?? 'runc'}, load average ${loadAverage()}`,
  );
  console.log(`latency: ${SAMPLES} sequential hello worlds each (after one warm-up), interleaved\n`);
  console.log(
    '| runtime | bare interpreter p50 / p99 | raw runc p50 / p99 | gateway REST ?wait=true p50 / p99 | gateway / raw (p50) |',
  );
  console.log('| --- | --- | --- | --- | --- |');
  for (const runtime of Object.keys(HELLO)) {
    const hello = HELLO[runtime] as { bare: string[] };
    const hasFloor = INTERPRETED.includes(runtime);
    const actions = [
      () => viaGateway(runtime),
      ...(hello.bare.length > 0 ? [() => spawnQuiet(hello.bare)] : []),
      ...(hasFloor ? [() => raw.run(runtime)] : []),
    ];
    const [gatewayTimes = NO_LATENCY, ...floors] = await latencies(SAMPLES, actions);
    const bare = hello.bare.length > 0 ? (floors.shift() ?? NO_LATENCY) : NO_LATENCY;
    const rawTimes = hasFloor ? (floors.shift() ?? NO_LATENCY) : NO_LATENCY;
    const ratio = Number.isNaN(rawTimes.p50) ? '-' : `${(gatewayTimes.p50 / rawTimes.p50).toFixed(2)}x`;
    console.log(
      `| ${runtime} | ${ms(bare.p50)} / ${ms(bare.p99)} | ${ms(rawTimes.p50)} / ${ms(rawTimes.p99)} | ${ms(gatewayTimes.p50)} / ${ms(gatewayTimes.p99)} | ${ratio} |`,
    );
  }
  console.log(
    `\nthroughput: ${THROUGHPUT_RUNS} python hello worlds per row and column, in ${THROUGHPUT_ROUNDS} rounds taking turns, executions per second\n`,
  );
  console.log('| concurrency | bare interpreter | raw runc | gateway REST ?wait=true | gateway / raw |');
  console.log('| --- | --- | --- | --- | --- |');
  const costs: string[] = [];
  for (const concurrency of [1, 2, 8]) {
    const [bare, rawRunc, viaRest] = await throughputs(concurrency, THROUGHPUT_RUNS, [
      () => spawnQuiet(HELLO.python?.bare ?? []),
      (worker) => raw.run('python', worker),
      () => viaGateway('python'),
    ]);
    if (!bare || !rawRunc || !viaRest) throw new Error('a throughput row is missing');
    console.log(
      `| ${concurrency} | ${bare.perSecond.toFixed(1)}/s | ${rawRunc.perSecond.toFixed(1)}/s | ${viaRest.perSecond.toFixed(1)}/s | ${((viaRest.perSecond / rawRunc.perSecond) * 100).toFixed(0)}% |`,
    );
    const cpu = ({ machineMs, ownMs }: Throughput) => `${machineMs.toFixed(1)} ms / ${ownMs.toFixed(1)} ms`;
    costs.push(`| ${concurrency} | ${cpu(rawRunc)} | ${cpu(viaRest)} |`);
  }
  console.log(`\nload average after the throughput rows: ${loadAverage()}`);
  console.log(
    '\nCPU per execution in those rows: the whole machine (/proc/stat) / this process, which holds the gateway and the client (process.cpuUsage)\n',
  );
  console.log('| concurrency | raw runc | gateway REST ?wait=true |');
  console.log('| --- | --- | --- |');
  for (const row of costs) console.log(row);
  await floodMemory(config.limits.maxima.outputBytes, join(stateDir, 'flood'));
  await raw.close();
  agent.destroy();
  floorSpawner.close();
  await gateway.close();
  await backend.close(5000);
  await rm(stateDir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
