// `make load` (SOCKETS, default 1000): that many Socket.IO clients on one embedded gateway (its own
// process), all connected at once, each running an interactive Python program that reads a line
// and prints it reversed. The gateway runs embedded.maxRunning programs at a time and queues the
// rest (embedded.maxQueued is raised above the client count, and so is the tenant's concurrency
// limit, tenantDefaults.maxConcurrent). Prints the gateway's memory per connected socket, its
// event-loop delay (its own /metrics, prom-client) while the run lasts, and whether every client
// got its line back; exits non-zero if one did not.

import { io as connectClient, type Socket } from 'socket.io-client';
import type { ExecutionResult } from '../contract/index.js';
import { type GatewayProcess, removeRoot, startGatewayProcess } from './lib/gateway-process.js';
import { eventLoopLag, loadAverage, mib, openFds, percentile, rssBytes } from './lib/probes.js';

const SOCKETS = Number(process.env.SOCKETS ?? 1000);
const MAX_RUNNING = Number(process.env.LOAD_MAX_RUNNING ?? 4);
const CONNECT_BATCH = 50;

interface ClientRun {
  ok: boolean;
  problem?: string;
  /** From the run's ack to its exit, queueing included. */
  ms: number;
}

function connect(url: string): Promise<Socket> {
  const socket = connectClient(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

/** One client: run, type its line, wait for the exit and check the echo. */
async function interact(socket: Socket, index: number): Promise<ClientRun> {
  const line = `client-${index}`;
  const started = performance.now();
  let id = '';
  let stdout = '';
  const exit = new Promise<ExecutionResult>((resolve) => {
    socket.on('output', (event: { id: string; stream: string; data: string }) => {
      if (event.id === id && event.stream === 'stdout') stdout += event.data;
    });
    socket.on('exit', (result: ExecutionResult & { id: string }) => {
      if (result.id === id) resolve(result);
    });
  });
  const ack = (await socket
    .timeout(600_000)
    .emitWithAck('run', { runtime: 'python', source: 'print(input()[::-1])', interactive: true })) as
    | { id: string }
    | { error: { code: string; message: string } };
  if ('error' in ack) return { ok: false, problem: `run: ${ack.error.code} ${ack.error.message}`, ms: 0 };
  id = ack.id;
  const typed = (await socket.timeout(600_000).emitWithAck('stdin', { id, data: `${line}\n` })) as object;
  if ('error' in typed) return { ok: false, problem: `stdin: ${JSON.stringify(typed)}`, ms: 0 };
  const result = await exit;
  const ms = performance.now() - started;
  const expected = `${[...line].reverse().join('')}\n`;
  if (result.reason !== 'Completed') return { ok: false, problem: `${result.reason}: ${result.message}`, ms };
  if (stdout !== expected) return { ok: false, problem: `stdout ${JSON.stringify(stdout)}`, ms };
  return { ok: true, ms };
}

/** The gateway's memory, every half second, while `during` runs; and its event-loop delay every 5 s. */
async function watch<T>(gateway: GatewayProcess, during: Promise<T>) {
  let peakRss = await rssBytes(gateway.pid);
  const lagP99: number[] = [];
  let lagMax = 0;
  const memory = setInterval(() => void rssBytes(gateway.pid).then((rss) => (peakRss = Math.max(peakRss, rss))), 500);
  const lag = setInterval(
    () =>
      void eventLoopLag(gateway.url).then(({ p99Ms, maxMs }) => {
        lagP99.push(p99Ms);
        lagMax = Math.max(lagMax, maxMs);
      }),
    5_000,
  );
  try {
    return { value: await during, peakRss, lagP99, lagMax: () => lagMax };
  } finally {
    clearInterval(memory);
    clearInterval(lag);
  }
}

async function main(): Promise<void> {
  const root = `/run/sandpod-load/${process.pid}`;
  const gateway = await startGatewayProcess(root, {
    tenantDefaults: { maxConcurrent: SOCKETS + 100, ratePerSecond: 10_000, burst: 10_000 },
    socket: { idleTimeoutMs: 3_600_000 },
    embedded: { maxRunning: MAX_RUNNING, maxQueued: SOCKETS + 100 },
  });
  const sockets: Socket[] = [];
  try {
    console.log(
      `sandpod Socket.IO load — ${new Date().toISOString()}: ${SOCKETS} clients, embedded.maxRunning ${MAX_RUNNING}, load average ${loadAverage()}`,
    );
    await eventLoopLag(gateway.url);
    const idleRss = await rssBytes(gateway.pid);
    const idleFds = await openFds(gateway.pid);
    const connectStarted = performance.now();
    for (let next = 0; next < SOCKETS; next += CONNECT_BATCH) {
      const batch = Array.from({ length: Math.min(CONNECT_BATCH, SOCKETS - next) }, () => connect(gateway.url));
      sockets.push(...(await Promise.all(batch)));
    }
    const connectMs = performance.now() - connectStarted;
    const connectedRss = await rssBytes(gateway.pid);
    const connectedFds = await openFds(gateway.pid);
    const connectLag = await eventLoopLag(gateway.url);

    const runStarted = performance.now();
    const watched = await watch(gateway, Promise.all(sockets.map((socket, index) => interact(socket, index))));
    const runMs = performance.now() - runStarted;
    const runs = watched.value;
    const failed = runs.filter((run) => !run.ok);
    const times = runs.filter((run) => run.ok).map((run) => run.ms);
    const finalLag = await eventLoopLag(gateway.url);
    const lagP99 = [...watched.lagP99, finalLag.p99Ms];

    console.log('\n| figure | value |');
    console.log('| --- | --- |');
    console.log(`| clients connected at once | ${sockets.length} (in ${(connectMs / 1000).toFixed(1)} s) |`);
    console.log(
      `| gateway RSS idle / with every client connected | ${mib(idleRss).toFixed(1)} MiB / ${mib(connectedRss).toFixed(1)} MiB |`,
    );
    console.log(`| memory per connected socket | ${((connectedRss - idleRss) / SOCKETS / 1024).toFixed(1)} KiB |`);
    console.log(`| open descriptors idle / connected | ${idleFds} / ${connectedFds} |`);
    console.log(
      `| event-loop delay while connecting, p99 / max | ${connectLag.p99Ms.toFixed(1)} ms / ${connectLag.maxMs.toFixed(1)} ms |`,
    );
    console.log(`| interactive runs that echoed their line | ${runs.length - failed.length} of ${runs.length} |`);
    console.log(
      `| all ${SOCKETS} runs, from first run to last exit | ${(runMs / 1000).toFixed(1)} s (${(SOCKETS / (runMs / 1000)).toFixed(1)}/s) |`,
    );
    console.log(
      `| per client, run to exit (queue included), p50 / p99 | ${(percentile(times, 50) / 1000).toFixed(1)} s / ${(percentile(times, 99) / 1000).toFixed(1)} s |`,
    );
    console.log(`| gateway RSS peak while running | ${mib(watched.peakRss).toFixed(1)} MiB |`);
    console.log(
      `| event-loop delay while running: p99 per 5 s, median / worst; max | ${percentile(lagP99, 50).toFixed(1)} ms / ${Math.max(...lagP99).toFixed(1)} ms; ${Math.max(watched.lagMax(), finalLag.maxMs).toFixed(1)} ms |`,
    );
    console.log(`\nload average at the end: ${loadAverage()}`);
    for (const run of failed.slice(0, 10)) console.log(`FAILED: ${run.problem}`);
    if (failed.length > 0 || gateway.exited() !== undefined) process.exitCode = 1;
  } finally {
    for (const socket of sockets) socket.close();
    await gateway.stop();
    await removeRoot(root);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
