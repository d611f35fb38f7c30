// `make bench`: the gateway's memory while clients send the largest bodies it accepts. A separate
// gateway process (dist/gateway/main.js, or BENCH_GATEWAY_DIR's) takes BENCH_FLOOD_RATE requests
// a second (default 20) for BENCH_FLOOD_SECONDS (default 60), each near the 2 MiB body limit
// (source, stdin and arguments at their bounds), each a program that ends at once; its RSS is
// read from /proc every few seconds. Finished results stay readable for an hour, so whatever a
// finished execution keeps of its request adds up here. BENCH_FLOOD_HEAP_MIB sets the gateway's
// V8 heap limit (--max-old-space-size) to reach an exhaustion sooner. Prints a table; asserts
// nothing.
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { REQUEST_BOUNDS } from '../contract/index.js';

const run = promisify(execFile);
const RATE = Number(process.env.BENCH_FLOOD_RATE ?? 20);
const SECONDS = Number(process.env.BENCH_FLOOD_SECONDS ?? 60);
const HEAP_MIB = process.env.BENCH_FLOOD_HEAP_MIB;
const GATEWAY_DIR = resolve(process.env.BENCH_GATEWAY_DIR ?? '.');
const SAMPLE_EVERY_S = 5;

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

async function rssOf(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kib === undefined ? undefined : Number(kib) * 1024;
}

async function freePort(): Promise<number> {
  return new Promise((done) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => done(port));
    });
  });
}

/** A request body just under the 2 MiB limit: every large field at (or near) its bound. */
function largestBody(): string {
  const argument = 'a'.repeat(REQUEST_BOUNDS.argLength - 96);
  return JSON.stringify({
    runtime: 'bash',
    source: `# ${'s'.repeat(REQUEST_BOUNDS.sourceBytes - 64)}\ntrue\n`,
    stdin: 'i'.repeat(REQUEST_BOUNDS.stdinBytes - 64),
    args: Array.from({ length: REQUEST_BOUNDS.args }, () => argument),
  });
}

function post(agent: Agent, url: URL, body: string): Promise<number> {
  return new Promise((done) => {
    const sent = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        response.resume();
        response.on('end', () => done(response.statusCode ?? 0));
      },
    );
    sent.on('error', () => done(0));
    sent.end(body);
  });
}

async function main(): Promise<void> {
  const workDir = `/run/sandpod-bench/flood-${process.pid}`;
  await mkdir(workDir, { recursive: true });
  const configPath = join(workDir, 'config.yaml');
  await writeFile(
    configPath,
    `tenantDefaults:\n  ratePerSecond: 1000\n  burst: 1000\n  maxConcurrent: 1000\nembedded:\n  stateDir: ${join(workDir, 'state')}\n`,
  );
  const port = await freePort();
  const gateway = spawn(
    process.execPath,
    [...(HEAP_MIB ? [`--max-old-space-size=${HEAP_MIB}`] : []), join(GATEWAY_DIR, 'dist/gateway/main.js')],
    { env: { ...process.env, PORT: String(port), SANDPOD_CONFIG: configPath, LOG_LEVEL: 'warn' }, stdio: 'ignore' },
  );
  let exited: string | undefined;
  gateway.on('exit', (code, signal) => {
    exited = signal ?? `exit status ${code}`;
  });
  const base = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 100; attempt++) {
    const ready = await fetch(`${base}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    await new Promise((wait) => setTimeout(wait, 100));
  }
  const pid = gateway.pid as number;
  const body = largestBody();
  const url = new URL(`${base}/api/v1/executions`);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const counts = { sent: 0, accepted: 0, refused: 0, failed: 0 };
  console.log(
    `\ngateway ${GATEWAY_DIR}, ${RATE} requests/s of ${mib(Buffer.byteLength(body))} for ${SECONDS} s` +
      `${HEAP_MIB ? `, heap limit ${HEAP_MIB} MiB` : ''}, load average ${loadavg()[0]?.toFixed(1)} at the start\n`,
  );
  console.log('| second | requests sent | accepted (202) | refused (429/503) | failed | gateway RSS |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  const row = async (second: number) => {
    const rss = await rssOf(pid);
    const memory = rss === undefined ? `gone (${exited ?? 'no process'})` : mib(rss);
    console.log(
      `| ${second} | ${counts.sent} | ${counts.accepted} | ${counts.refused} | ${counts.failed} | ${memory} |`,
    );
  };
  await row(0);
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  let nextRow = SAMPLE_EVERY_S;
  for (let index = 0; index < RATE * SECONDS && !exited; index++) {
    const due = started + (index * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((done) => setTimeout(done, wait));
    counts.sent++;
    const sending = post(agent, url, body).then((status) => {
      if (status === 202) counts.accepted++;
      else if (status === 429 || status === 503) counts.refused++;
      else counts.failed++;
    });
    inFlight.add(sending);
    void sending.finally(() => inFlight.delete(sending));
    if ((performance.now() - started) / 1000 >= nextRow) {
      await row(nextRow);
      nextRow += SAMPLE_EVERY_S;
    }
  }
  await Promise.all(inFlight);
  await new Promise((done) => setTimeout(done, 3000));
  await row(Math.round((performance.now() - started) / 1000));
  agent.destroy();
  if (!exited) {
    gateway.kill('SIGTERM');
    await new Promise((done) => gateway.once('exit', done));
  }
  // A gateway that died leaves its scratch mounts behind.
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  for (const mountPoint of mounts.split('\n').map((line) => line.split(' ')[1] ?? '')) {
    if (mountPoint.startsWith(`${workDir}/`)) await run('umount', ['-l', mountPoint]).catch(() => undefined);
  }
  await rm(workDir, { recursive: true, force: true });
}

await main();
