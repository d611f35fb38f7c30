// Per language: hello-world latency (compile plus run, through REST `?wait=true`), what the steps
// used (CPU, peak memory), and the size of the language's runtime image. In embedded mode (the
// default) a gateway process of this checkout (dist/, `make build`) with the OCI runtime of
// SANDPOD_OCI_RUNTIME (runc unless set); with BENCH_URL (and BENCH_TOKEN) a running gateway instead,
// such as the dev cluster's (`BENCH_URL=http://127.0.0.1:8081 BENCH_TOKEN=$(cat .sandpod/token)`).
// Image sizes are those of the tarballs dev-cluster/images/build-images.sh keeps in
// ~/.cache/sandpod/images. BENCH_LANGUAGES narrows the list; BENCH_SAMPLES runs each (default 3,
// after one warm-up). With BENCH_NEEDS=1, also the fewest pids and the least memory (of a ladder
// of values) under which the language's product sample (test/runtimes/samples) still completes,
// to set each language's defaults from. Prints a table; asserts nothing.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ExecutionResult, RuntimeInfo } from '../contract/index.js';
import { readCatalog } from '../runtimes/catalog.js';
import { removeRoot, startGatewayProcess } from './lib/gateway-process.js';

const run = promisify(execFile);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 3);
const SAMPLES_DIR = new URL('../test/runtimes/samples/', import.meta.url);
const IMAGES_DIR = join(
  process.env.SANDPOD_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sandpod'),
  'images',
);

const PIDS_LADDER = [4, 8, 16, 24, 32, 48, 64, 96, 128];
const MEMORY_LADDER = [16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512];

function sampleOf(name: string, stem = 'hello'): string | undefined {
  const dir = new URL(`${name}/`, SAMPLES_DIR);
  const file = readdirSync(dir).find((entry) => entry.startsWith(`${stem}.`));
  return file === undefined ? undefined : readFileSync(new URL(file, dir), 'utf8');
}

/** The newest image tarball of a runtime, in MiB. */
function imageMiB(name: string): number | undefined {
  let newest: { mtime: number; size: number } | undefined;
  for (const entry of readdirSync(IMAGES_DIR, { withFileTypes: true })) {
    if (!entry.isFile() || !new RegExp(`^runtime-${name}-[0-9a-f]+\\.tar$`).test(entry.name)) continue;
    const stat = statSync(join(IMAGES_DIR, entry.name));
    if (!newest || stat.mtimeMs > newest.mtime) newest = { mtime: stat.mtimeMs, size: stat.size };
  }
  return newest && newest.size / 1024 / 1024;
}

async function post(url: string, token: string | undefined, body: unknown): Promise<ExecutionResult> {
  const response = await fetch(`${url}/api/v1/executions?wait=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const result = (await response.json()) as ExecutionResult;
  if (!response.ok) throw new Error(`POST answered ${response.status}: ${JSON.stringify(result)}`);
  return result;
}

/** The first value of each ladder under which the product sample completes with the right answer. */
async function leastLimits(url: string, token: string | undefined, name: string): Promise<string[]> {
  const source = sampleOf(name, 'product');
  const passes = async (limits: Record<string, number>) => {
    const result = await post(url, token, { runtime: name, source, stdin: '6 7\n', limits });
    return result.reason === 'Completed' && result.stdout === '42\n';
  };
  const least = async (ladder: number[], limit: string) => {
    for (const value of ladder) if (await passes({ [limit]: value })) return String(value);
    return `>${ladder.at(-1)}`;
  };
  return [await least(PIDS_LADDER, 'pids'), await least(MEMORY_LADDER, 'memoryMiB')];
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const fixed = (value: number | undefined, digits = 0) =>
  value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits);

async function main(): Promise<void> {
  const token = process.env.BENCH_TOKEN;
  let url = process.env.BENCH_URL;
  const root = join(tmpdir(), `sandpod-bench-languages-${process.pid}`);
  const gateway = url ? undefined : await startGatewayProcess(root, { embedded: { maxRunning: 1 } });
  url = url ?? gateway?.url ?? '';
  try {
    const listed = (await (
      await fetch(`${url}/api/v1/runtimes`, { headers: token ? { authorization: `Bearer ${token}` } : {} })
    ).json()) as RuntimeInfo[];
    const wanted = (process.env.BENCH_LANGUAGES ?? '').split(',').filter(Boolean);
    const where = url === gateway?.url ? `embedded, ${process.env.SANDPOD_OCI_RUNTIME ?? 'runc'}` : url;
    console.error(
      `hello world per language (${where}), median of ${SAMPLES} after a warm-up; load ${loadavg()[0]?.toFixed(1)}`,
    );
    const needs = process.env.BENCH_NEEDS === '1';
    const columns = [
      'runtime',
      'version',
      'latency ms',
      'compile ms',
      'compile MiB',
      'run ms',
      'run MiB',
      'image tarball MiB',
    ];
    process.stdout.write(`${[...columns, ...(needs ? ['needs pids', 'needs MiB'] : [])].join('\t')}\n`);
    for (const runtime of readCatalog().runtimes) {
      if (wanted.length > 0 && !wanted.includes(runtime.name)) continue;
      const info = listed.find((entry) => entry.name === runtime.name);
      const source = sampleOf(runtime.name);
      const image = fixed(imageMiB(runtime.name));
      if (!info || source === undefined) {
        process.stdout.write(`${[runtime.name, 'not listed', '-', '-', '-', '-', '-', image].join('\t')}\n`);
        continue;
      }
      const latencies: number[] = [];
      let last: ExecutionResult | undefined;
      for (let sample = 0; sample <= SAMPLES; sample += 1) {
        const started = performance.now();
        last = await post(url, token, { runtime: runtime.name, source });
        if (last.reason !== 'Completed') break;
        if (sample > 0) latencies.push(performance.now() - started);
      }
      if (last?.reason !== 'Completed') {
        const why = `${last?.reason}: ${last?.message} ${last?.compile?.output ?? ''} ${last?.stderr ?? ''}`;
        process.stdout.write(`${[runtime.name, info.version, `failed (${why.trim().slice(0, 300)})`].join('\t')}\n`);
        continue;
      }
      process.stdout.write(
        `${[
          runtime.name,
          info.version,
          fixed(median(latencies)),
          fixed(last?.compile?.durationMs),
          fixed(last?.compile?.usage?.memoryPeakMiB),
          fixed(last?.durationMs ?? undefined),
          fixed(last?.usage?.memoryPeakMiB ?? undefined),
          image,
          ...(needs ? await leastLimits(url, token, runtime.name) : []),
        ].join('\t')}\n`,
      );
    }
  } finally {
    await gateway?.stop();
    // runsc leaves a network namespace bound under the gateway's state.
    const mounts = await readFile('/proc/self/mounts', 'utf8');
    for (const mountPoint of mounts.split('\n').map((line) => line.split(' ')[1] ?? '')) {
      if (mountPoint.startsWith(`${root}/`)) await run('umount', ['-l', mountPoint]).catch(() => undefined);
    }
    await removeRoot(root);
  }
}

await main();
