// `make bench`: a C solution judged on 100 tests, as one Execution with `tests` (compiled once,
// a fresh step per test) against 100 Executions with `expectedOutput` each (compiled 100 times),
// sent one after another and as one batch. Embedded backend, in this process. Prints wall time
// and CPU per test: the whole machine (/proc/stat), this process (gateway and client), and the
// program's own as the sandbox measured it. The machine is shared: the figures move with its load.
// Asserts nothing. The same on the dev cluster is the judging phase of bench/kubernetes.ts.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import winston from 'winston';
import type { ExecutionResult } from '../contract/index.js';
import { createApp } from '../gateway/app.js';
import { parseConfig } from '../gateway/config.js';
import { createEmbeddedBackend } from '../gateway/embedded/index.js';

const TESTS = Number(process.env.BENCH_TESTS ?? 100);
const SOLUTION = `#include <stdio.h>
int main(void) { long n; if (scanf("%ld", &n) != 1) return 1; printf("%ld\\n", n * 2); return 0; }
`;
const tests = Array.from({ length: TESTS }, (_, index) => ({ stdin: `${index}\n`, expectedOutput: `${index * 2}\n` }));

const clockTicksPerSecond = promisify(execFile)('getconf', ['CLK_TCK']).then(
  ({ stdout }) => Number(stdout.trim()) || 100,
);

async function machineBusyMs(): Promise<number> {
  const [, ...ticks] = ((await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '').trim().split(/\s+/);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks.map(Number);
  return ((user + nice + system + irq + softirq + steal) * 1000) / (await clockTicksPerSecond);
}

const ownCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

async function post(url: string, path: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const parsed = await response.json();
  if (response.status >= 300) throw new Error(`${path}: ${response.status} ${JSON.stringify(parsed)}`);
  return parsed;
}

interface Row {
  layout: string;
  wallMs: number;
  machineMs: number;
  processMs: number;
  programMs: number;
  accepted: number;
}

async function measure(layout: string, action: () => Promise<ExecutionResult[]>): Promise<Row> {
  const machine = await machineBusyMs();
  const own = ownCpuMs();
  const started = performance.now();
  const results = await action();
  const wallMs = performance.now() - started;
  const programMs = results
    .flatMap((result) => (result.tests ? result.tests.map((test) => test.usage) : [result.usage]))
    .reduce((total, usage) => total + (usage?.cpuTimeMs ?? 0), 0);
  const reasons = results.flatMap((result) =>
    result.tests ? result.tests.map((test) => test.reason) : [result.reason],
  );
  const accepted = reasons.filter((reason) => reason === 'Accepted').length;
  return {
    layout,
    wallMs,
    machineMs: (await machineBusyMs()) - machine,
    processMs: ownCpuMs() - own,
    programMs,
    accepted,
  };
}

async function main(): Promise<void> {
  const stateDir = await mkdtemp(join(tmpdir(), 'sandpod-bench-judging-'));
  const config = parseConfig({
    tenantDefaults: { maxConcurrent: 1000, ratePerSecond: 1000, burst: 1000 },
    embedded: { stateDir, maxQueued: 1000 },
  });
  const log = winston.createLogger({ silent: true });
  const backend = await createEmbeddedBackend(config, log);
  const gateway = createApp({ config, backend, log });
  await new Promise<void>((resolve) => gateway.httpServer.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(gateway.httpServer.address() as AddressInfo).port}`;
  try {
    const request = { runtime: 'c', source: SOLUTION };
    await post(url, '/api/v1/executions?wait=true', { ...request, stdin: '1\n', expectedOutput: '2\n' });
    const rows: Row[] = [];
    rows.push(
      await measure(`1 Execution, ${TESTS} tests`, async () => [
        (await post(url, '/api/v1/executions?wait=true', { ...request, tests })) as ExecutionResult,
      ]),
    );
    rows.push(
      await measure(`${TESTS} Executions, one after another`, async () => {
        const results: ExecutionResult[] = [];
        for (const test of tests) {
          results.push((await post(url, '/api/v1/executions?wait=true', { ...request, ...test })) as ExecutionResult);
        }
        return results;
      }),
    );
    rows.push(
      await measure(`${TESTS} Executions, one batch`, async () => {
        const { items } = (await post(url, '/api/v1/executions/batch', {
          executions: tests.map((test) => ({ ...request, ...test })),
        })) as { items: { id: string }[] };
        return Promise.all(items.map(({ id }) => backend.wait('default', id) as Promise<ExecutionResult>));
      }),
    );
    const perTest = (value: number) => `${(value / TESTS).toFixed(1)} ms`;
    process.stdout.write(
      `\nJudging a C solution on ${TESTS} tests, embedded (${config.embedded.ociRuntime}, maxRunning ${config.embedded.maxRunning}), load ${loadavg()[0]?.toFixed(1)}\n`,
    );
    process.stdout.write(
      '| layout | wall | wall per test | CPU per test: machine | this process | program | accepted |\n',
    );
    process.stdout.write('| --- | --- | --- | --- | --- | --- | --- |\n');
    for (const row of rows) {
      process.stdout.write(
        `| ${row.layout} | ${(row.wallMs / 1000).toFixed(2)} s | ${perTest(row.wallMs)} | ${perTest(row.machineMs)} | ${perTest(row.processMs)} | ${perTest(row.programMs)} | ${row.accepted}/${TESTS} |\n`,
      );
    }
  } finally {
    await gateway.close();
    await backend.close(0);
    await rm(stateDir, { recursive: true, force: true });
  }
}

await main();
