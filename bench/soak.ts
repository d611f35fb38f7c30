// `make soak` (SOAK_MINUTES, default 30): the embedded gateway as a process of its own, first
// measured for a short while at full load (its capacity for the mix below), then driven for N
// minutes at 80% of that with a fixed mix of hello worlds, interactive runs over Socket.IO, output
// floods, memory bombs, fork bombs and endless loops. Every interval it samples the gateway's RSS,
// open descriptors, the cgroups and scratch mounts it owns, and the hello worlds' p99 latency;
// writes them to a CSV and a PNG plot (gnuplot), and checks that every execution got the outcome
// it deserves, that the resources are back to their baseline at the end and that memory is flat.
// Exits non-zero when a check fails.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type GatewayProcess, removeRoot, startGatewayProcess } from './lib/gateway-process.js';
import {
  eventLoopLag,
  loadAverage,
  mib,
  mountsBelow,
  openFds,
  percentile,
  rssBytes,
  sandpodCgroups,
  slope,
} from './lib/probes.js';
import { type JobKind, type JobOutcome, mixSequence, runJob } from './lib/workload.js';

const run = promisify(execFile);

export interface SoakOptions {
  minutes: number;
  intervalSeconds: number;
  /** How long full load is measured to find the capacity. */
  capacitySeconds: number;
  /** Share of the measured capacity the soak runs at. */
  loadShare: number;
  /** Where the CSV and PNG go; none when undefined. */
  outputPrefix?: string;
  log?: (line: string) => void;
}

export interface Sample {
  elapsedSeconds: number;
  rssMiB: number;
  fds: number;
  cgroups: number;
  mounts: number;
  helloP99Ms: number;
  loopLagP99Ms: number;
  finished: number;
  load1: number;
}

interface Resources {
  rssMiB: number;
  fds: number;
  cgroups: number;
  nestedCgroups: number;
  mounts: number;
}

export interface SoakReport {
  capacityPerSecond: number;
  ratePerSecond: number;
  /** Arrivals per second actually made, and how many waited for the in-flight bound. */
  achievedRatePerSecond: number;
  delayedArrivals: number;
  maxRunning: number;
  samples: Sample[];
  outcomes: JobOutcome[];
  failures: JobOutcome[];
  baseline: Resources;
  end: Resources;
  /** RSS slope over the second half of the run, MiB per minute (printed; the check is on peaks). */
  rssSlopeMiBPerMinute: number;
  rssPeakFirstHalfMiB: number;
  rssPeakSecondHalfMiB: number;
  helloP99SlopeMsPerMinute: number;
  gatewayExit: number | string | undefined;
  loadBefore: string;
  loadAfter: string;
  /** The checks that failed, in words; empty when all passed. */
  violations: string[];
}

/** Matches the gateway's default (2 × cores); set here so the soak knows how many slots to expect. */
const MAX_RUNNING = 4;
/** Executions the soak keeps waiting at once: a few rounds of the gateway's slots. */
const MAX_IN_FLIGHT = 6 * MAX_RUNNING;
/** How far the second half's RSS may pass the first half's peak before it counts as growth. */
const RSS_NEW_HEIGHT_MIB = 8;

async function resources(gateway: GatewayProcess): Promise<Resources> {
  const cgroups = await sandpodCgroups(gateway.pid);
  return {
    rssMiB: mib(await rssBytes(gateway.pid)),
    fds: await openFds(gateway.pid),
    cgroups: cgroups.total,
    nestedCgroups: cgroups.nested,
    mounts: await mountsBelow(gateway.pid, gateway.stateDir),
  };
}

/** Waits until the gateway holds no more than `baseline` (executions' resources are released after their result). */
async function settle(gateway: GatewayProcess, baseline: Resources, timeoutMs: number): Promise<Resources> {
  const deadline = Date.now() + timeoutMs;
  let now = await resources(gateway);
  while (
    Date.now() < deadline &&
    (now.fds > baseline.fds || now.cgroups > baseline.cgroups || now.mounts > baseline.mounts || now.nestedCgroups > 0)
  ) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    now = await resources(gateway);
  }
  return now;
}

/** Closed loop at `concurrency` for `seconds`: executions of the mix per second. */
async function measureCapacity(url: string, concurrency: number, seconds: number, outcomes: JobOutcome[]) {
  const sequence = mixSequence();
  let next = 0;
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const serial = next++;
        outcomes.push(await runJob(url, sequence[serial % sequence.length] as JobKind, serial));
        done += 1;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const root = `/run/sandpod-soak/${process.pid}-${Date.now()}`;
  const gateway = await startGatewayProcess(root, {
    // Admission is not what is soaked: its limits are raised so that no run is refused with 429.
    tenantDefaults: { maxConcurrent: 1000, ratePerSecond: 1000, burst: 1000 },
    // Results are dropped after a minute, so the store reaches its steady size early in the run.
    embedded: { maxRunning: MAX_RUNNING, maxQueued: 1000, resultTtlSeconds: 60 },
  });
  const loadBefore = loadAverage();
  const outcomes: JobOutcome[] = [];
  try {
    log(`soak: gateway pid ${gateway.pid} at ${gateway.url}; load average ${loadBefore}`);
    const warmup: JobOutcome[] = [];
    const capacity = await measureCapacity(gateway.url, MAX_RUNNING, options.capacitySeconds, warmup);
    outcomes.push(...warmup);
    const rate = capacity * options.loadShare;
    log(
      `capacity for the mix: ${capacity.toFixed(2)}/s at concurrency ${MAX_RUNNING}; soaking at ${rate.toFixed(2)}/s`,
    );
    // The baseline is taken idle, after the capacity run made the gateway's slots and warmed it up.
    // The client's kept-alive connections are the gateway's descriptors too, until its keep-alive
    // timeout (5 s) closes them.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const baseline = await resources(gateway);
    log(`baseline: ${JSON.stringify(baseline)}`);

    const samples: Sample[] = [];
    const sequence = mixSequence();
    const pending = new Set<Promise<void>>();
    let helloLatencies: number[] = [];
    let finishedInInterval = 0;
    let delayedArrivals = 0;
    const started = performance.now();
    const endAt = started + options.minutes * 60_000;
    await eventLoopLag(gateway.url); // resets the gateway's histogram
    const sample = async () => {
      const now = await resources(gateway);
      const lag = await eventLoopLag(gateway.url);
      const point: Sample = {
        elapsedSeconds: Math.round((performance.now() - started) / 1000),
        rssMiB: now.rssMiB,
        fds: now.fds,
        cgroups: now.cgroups,
        mounts: now.mounts,
        helloP99Ms: percentile(helloLatencies, 99),
        loopLagP99Ms: lag.p99Ms,
        finished: finishedInInterval,
        load1: Number(loadAverage().split(' ')[0]),
      };
      helloLatencies = [];
      finishedInInterval = 0;
      samples.push(point);
      log(
        `t=${point.elapsedSeconds}s rss=${point.rssMiB.toFixed(1)}MiB fds=${point.fds} cgroups=${point.cgroups} mounts=${point.mounts} hello-p99=${point.helloP99Ms.toFixed(0)}ms loop-p99=${point.loopLagP99Ms.toFixed(1)}ms done=${point.finished} in-flight=${pending.size} load=${point.load1}`,
      );
    };
    await sample(); // t=0: idle, at the baseline
    const sampler = setInterval(() => void sample(), options.intervalSeconds * 1000);
    // Arrivals on a fixed schedule whatever the gateway's pace, as users would come; but the
    // machine is shared, and when it slows below the rate measured, a backlog without bound would
    // only measure the queue. So at most MAX_IN_FLIGHT wait at once; an arrival past that waits
    // for one to end (counted), and the schedule goes on from there rather than catching up.
    let serial = 0;
    const gapMs = 1000 / rate;
    let due = started;
    while (performance.now() < endAt && gateway.exited() === undefined) {
      if (pending.size >= MAX_IN_FLIGHT) {
        delayedArrivals += 1;
        await Promise.race(pending);
        due = Math.max(due, performance.now());
      }
      const kind = sequence[serial % sequence.length] as JobKind;
      const job = runJob(gateway.url, kind, serial).then((outcome) => {
        outcomes.push(outcome);
        finishedInInterval += 1;
        if (outcome.kind === 'hello' && outcome.ok) helloLatencies.push(outcome.latencyMs);
        pending.delete(job);
      });
      pending.add(job);
      serial += 1;
      due += gapMs;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    }
    const achievedRate = serial / ((performance.now() - started) / 1000);
    log(
      `arrivals: ${serial} at ${achievedRate.toFixed(2)}/s; ${delayedArrivals} waited for one of ${MAX_IN_FLIGHT} in flight to end`,
    );
    await Promise.all(pending);
    clearInterval(sampler);
    await sample();
    const end = await settle(gateway, baseline, 30_000);
    const loadAfter = loadAverage();
    log(`end: ${JSON.stringify(end)}; load average ${loadAfter}`);

    const secondHalf = samples.filter((point) => point.elapsedSeconds >= (options.minutes * 60) / 2);
    const rssSlope = slope(secondHalf.map((point) => ({ x: point.elapsedSeconds / 60, y: point.rssMiB })));
    const p99Slope = slope(
      secondHalf
        .filter((point) => !Number.isNaN(point.helloP99Ms))
        .map((point) => ({ x: point.elapsedSeconds / 60, y: point.helloP99Ms })),
    );
    const failures = outcomes.filter((outcome) => !outcome.ok);
    const violations: string[] = [];
    if (gateway.exited() !== undefined) violations.push(`the gateway exited with ${gateway.exited()}`);
    if (failures.length > 0)
      violations.push(`${failures.length} of ${outcomes.length} executions did not get the outcome they deserve`);
    if (end.fds > baseline.fds) violations.push(`open descriptors ${end.fds} > baseline ${baseline.fds}`);
    if (end.cgroups > baseline.cgroups || end.nestedCgroups > 0)
      violations.push(`cgroups ${end.cgroups} (${end.nestedCgroups} containers left) > baseline ${baseline.cgroups}`);
    if (end.mounts > baseline.mounts) violations.push(`scratch mounts ${end.mounts} > baseline ${baseline.mounts}`);
    // Memory: the retained results reach their steady size within the first minute (TTL 60 s);
    // past it RSS wanders with the garbage collector (it may drop by 30 MiB and climb back). A
    // slope over a span is at the mercy of where such a drop falls; a leak shows as new heights,
    // so the second half must not go higher than the first did.
    const rssGrowth = end.rssMiB - baseline.rssMiB;
    if (rssGrowth > 64) violations.push(`RSS grew ${rssGrowth.toFixed(1)} MiB from the baseline (limit 64)`);
    const firstHalfPeak = Math.max(
      ...samples.filter((point) => !secondHalf.includes(point)).map((point) => point.rssMiB),
    );
    const secondHalfPeak = Math.max(...secondHalf.map((point) => point.rssMiB));
    if (options.minutes >= 10 && secondHalfPeak > firstHalfPeak + RSS_NEW_HEIGHT_MIB)
      violations.push(
        `RSS reached ${secondHalfPeak.toFixed(1)} MiB in the second half, above the first half's ${firstHalfPeak.toFixed(1)} MiB + ${RSS_NEW_HEIGHT_MIB}`,
      );
    const report: SoakReport = {
      capacityPerSecond: capacity,
      ratePerSecond: rate,
      achievedRatePerSecond: achievedRate,
      delayedArrivals,
      maxRunning: MAX_RUNNING,
      samples,
      outcomes,
      failures,
      baseline,
      end,
      rssSlopeMiBPerMinute: rssSlope,
      rssPeakFirstHalfMiB: firstHalfPeak,
      rssPeakSecondHalfMiB: secondHalfPeak,
      helloP99SlopeMsPerMinute: p99Slope,
      gatewayExit: gateway.exited(),
      loadBefore,
      loadAfter,
      violations,
    };
    if (options.outputPrefix) await writeOutputs(options.outputPrefix, report, options);
    return report;
  } finally {
    await gateway.stop();
    await removeRoot(root);
  }
}

function csv(samples: Sample[]): string {
  const header = 'elapsed_s,rss_mib,fds,cgroups,mounts,hello_p99_ms,loop_lag_p99_ms,finished,load1';
  const rows = samples.map((s) =>
    [
      s.elapsedSeconds,
      s.rssMiB.toFixed(1),
      s.fds,
      s.cgroups,
      s.mounts,
      s.helloP99Ms.toFixed(0),
      s.loopLagP99Ms.toFixed(1),
      s.finished,
      s.load1,
    ].join(','),
  );
  return `${[header, ...rows].join('\n')}\n`;
}

/** The series over time, one panel each, with gnuplot's cairo PNG terminal (no browser, no display). */
async function plot(csvPath: string, pngPath: string, title: string): Promise<void> {
  const panel = (column: number, label: string, last = false) =>
    [
      `set ylabel "${label}"`,
      last ? 'set xlabel "minutes"' : 'unset xlabel',
      `plot "${csvPath}" using ($1/60):${column} with linespoints pt 7 ps 0.4 notitle`,
    ].join('\n');
  const script = [
    'set datafile separator ","',
    'set terminal pngcairo size 1000,1300 font "sans,10"',
    `set output "${pngPath}"`,
    `set multiplot layout 6,1 title "${title}"`,
    'set key off',
    'set grid',
    'set yrange [0:*]',
    panel(2, 'gateway RSS (MiB)'),
    panel(3, 'open fds'),
    panel(4, 'sandpod cgroups'),
    panel(5, 'scratch mounts'),
    panel(6, 'hello p99 (ms)'),
    panel(9, 'load average (1 min)', true),
    'unset multiplot',
  ].join('\n');
  const child = run('gnuplot', [], {});
  child.child.stdin?.end(script);
  await child;
}

async function writeOutputs(prefix: string, report: SoakReport, options: SoakOptions): Promise<void> {
  const csvPath = resolve(`${prefix}.csv`);
  await writeFile(csvPath, csv(report.samples));
  const title = `sandpod soak: ${options.minutes} min at ${report.ratePerSecond.toFixed(1)}/s (80% of ${report.capacityPerSecond.toFixed(1)}/s), load avg ${report.loadBefore.split(' ')[0]} -> ${report.loadAfter.split(' ')[0]}`;
  try {
    await plot(csvPath, resolve(`${prefix}.png`), title);
  } catch (error) {
    // The plot is a convenience; the CSV holds the figures.
    console.error(`no plot (gnuplot with cairo: apt-get install gnuplot-nox): ${(error as Error).message}`);
  }
}

function printSummary(report: SoakReport): void {
  const byKind = new Map<string, { total: number; ok: number; reasons: Map<string, number> }>();
  for (const outcome of report.outcomes) {
    const entry = byKind.get(outcome.kind) ?? { total: 0, ok: 0, reasons: new Map() };
    entry.total += 1;
    if (outcome.ok) entry.ok += 1;
    const reason = outcome.reason ?? 'none';
    entry.reasons.set(reason, (entry.reasons.get(reason) ?? 0) + 1);
    byKind.set(outcome.kind, entry);
  }
  console.log('\n| kind | executions | with the outcome they deserve | reasons |');
  console.log('| --- | --- | --- | --- |');
  for (const [kind, entry] of byKind) {
    const reasons = [...entry.reasons].map(([reason, count]) => `${reason} ${count}`).join(', ');
    console.log(`| ${kind} | ${entry.total} | ${entry.ok} | ${reasons} |`);
  }
  const { baseline, end } = report;
  console.log('\n| resource | baseline (idle, after warm-up) | end (idle) |');
  console.log('| --- | --- | --- |');
  console.log(`| gateway RSS | ${baseline.rssMiB.toFixed(1)} MiB | ${end.rssMiB.toFixed(1)} MiB |`);
  console.log(`| open fds | ${baseline.fds} | ${end.fds} |`);
  console.log(
    `| sandpod cgroups (containers left) | ${baseline.cgroups} (${baseline.nestedCgroups}) | ${end.cgroups} (${end.nestedCgroups}) |`,
  );
  console.log(`| scratch mounts | ${baseline.mounts} | ${end.mounts} |`);
  const rss = report.samples.map((s) => s.rssMiB);
  console.log(
    `\nRSS over the run: min ${Math.min(...rss).toFixed(1)} MiB, max ${Math.max(...rss).toFixed(1)} MiB; peak ${report.rssPeakFirstHalfMiB.toFixed(1)} MiB in the first half, ${report.rssPeakSecondHalfMiB.toFixed(1)} MiB in the second; least-squares slope over the second half ${report.rssSlopeMiBPerMinute.toFixed(3)} MiB/min; hello p99 slope ${report.helloP99SlopeMsPerMinute.toFixed(1)} ms/min`,
  );
  console.log(
    `arrivals at ${report.achievedRatePerSecond.toFixed(2)}/s (target ${report.ratePerSecond.toFixed(2)}/s, 80% of ${report.capacityPerSecond.toFixed(2)}/s); ${report.delayedArrivals} waited for the in-flight bound; load average ${report.loadBefore} before, ${report.loadAfter} after`,
  );
  for (const failure of report.failures.slice(0, 20)) console.log(`FAILED ${failure.kind}: ${failure.problem}`);
  console.log(report.violations.length === 0 ? '\nsoak: PASS' : `\nsoak: FAIL\n- ${report.violations.join('\n- ')}`);
}

async function main(): Promise<void> {
  const minutes = Number(process.env.SOAK_MINUTES ?? 30);
  const report = await runSoak({
    minutes,
    intervalSeconds: Number(process.env.SOAK_INTERVAL_SECONDS ?? (minutes >= 10 ? 30 : 10)),
    capacitySeconds: Number(process.env.SOAK_CAPACITY_SECONDS ?? 30),
    loadShare: 0.8,
    // Beside RELIABILITY.md, which shows the plot.
    outputPrefix: process.env.SOAK_OUTPUT ?? 'RELIABILITY.soak',
  });
  printSummary(report);
  if (report.violations.length > 0) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
