// Kubernetes mode on the dev cluster: what one tenant can make etcd hold, and what reading an
// execution costs the API server. The gateway (its own process) serves one tenant whose namespace
// no operator watches, so its Executions stay Pending with their whole request in etcd.
//   1. POST executions of ~1 MB (source and stdin) until the gateway answers 429, or
//      BENCH_STORE_MAX of them: how many, the bytes of their objects as the API server returns
//      them, and etcd's database size in use before and after (etcd's /metrics).
//   2. 100 GET /executions/:id of a Pending one, then of one made Succeeded with 100 KB of stdout
//      (status written with kubectl): GET requests for executions the API server counted
//      (apiserver_request_total) during each hundred.
// BENCH_GATEWAY_CHECKOUT=<dir> runs the gateway of another checkout (with its own node_modules),
// for the figures before a change. Prints figures; asserts nothing. Needs the dev cluster.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import {
  clusterProblem,
  createNamespace,
  deleteNamespace,
  installCrds,
  kubeconfigPath,
  kubectl,
  loadKubeConfig,
  repoPath,
} from '../test/helpers/cluster-suite.js';
import { kubectlPath } from '../test/helpers/dev-cluster.js';
import { sha256Hex } from '../test/helpers/gateway.js';

const MAX_POSTS = Number(process.env.BENCH_STORE_MAX ?? 120);
const ETCD_METRICS = process.env.BENCH_ETCD_METRICS ?? 'http://127.0.0.1:12379/metrics';
const checkout = process.env.BENCH_GATEWAY_CHECKOUT ?? repoPath('.');
const run = `${process.pid}-${Date.now().toString(36)}`;
const namespace = `sandpod-store-${run}`;
const token = randomBytes(24).toString('hex');
const MiB = 1024 * 1024;

async function etcdBytesInUse(): Promise<number> {
  const text = await (await fetch(ETCD_METRICS)).text();
  const line = text.split('\n').find((entry) => entry.startsWith('etcd_mvcc_db_total_size_in_use_in_bytes '));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

/** GET requests for Executions the API server has served, summed over its counter's labels. */
function executionGets(): number {
  // The API server's metrics pass kubectl's default output buffer.
  const metrics = spawnSync(kubectlPath, ['get', '--raw', '/metrics'], {
    env: { ...process.env, KUBECONFIG: kubeconfigPath },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (metrics.status !== 0) throw new Error(metrics.stderr);
  let total = 0;
  for (const line of metrics.stdout.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    if (!line.includes('resource="executions"') || !line.includes('verb="GET"')) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** The run's Executions as the API server returns them (a list far above kubectl's output buffer). */
async function storedObjects(): Promise<{ count: number; bytes: number }> {
  const custom = loadKubeConfig().makeApiClient(CustomObjectsApi);
  const listed = (await custom.listNamespacedCustomObject({
    group: 'sandpod.dev',
    version: 'v1alpha1',
    namespace,
    plural: 'executions',
  })) as { items: unknown[] };
  const items = listed.items;
  return {
    count: items.length,
    bytes: items.reduce<number>((sum, item) => sum + Buffer.byteLength(JSON.stringify(item)), 0),
  };
}

async function startGateway(dir: string): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const config = path.join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    yaml.dump({
      backend: 'kubernetes',
      host: '127.0.0.1',
      port: 0,
      tenants: [
        { name: 'store', tokenSha256: [sha256Hex(token)], maxConcurrent: 100_000, ratePerSecond: 1000, burst: 1000 },
      ],
      kubernetes: { namespaces: { store: namespace } },
    }),
  );
  const child = spawn(process.execPath, ['--import=tsx', path.join(checkout, 'gateway/main.ts')], {
    cwd: checkout,
    env: { ...process.env, KUBECONFIG: kubeconfigPath, SANDPOD_CONFIG: config, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-50_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const deadline = Date.now() + 90_000;
  for (;;) {
    const match = /"url":"(http:\/\/[^"]+)\/"/.exec(output);
    if (match?.[1]) {
      const ready = await fetch(`${match[1]}/readyz`).catch(() => undefined);
      if (ready?.ok) return { child, url: match[1], output: () => output };
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the gateway did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function main(): Promise<void> {
  const problem = clusterProblem();
  if (problem) {
    process.stdout.write(`storage bench skipped: ${problem}\n`);
    return;
  }
  installCrds();
  createNamespace(namespace);
  const dir = mkdtempSync(path.join(tmpdir(), 'sandpod-storage-bench-'));
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  try {
    gateway = await startGateway(dir);
    const { url } = gateway;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const body = JSON.stringify({
      runtime: 'python',
      source: `# ${'s'.repeat(500_000)}\n`,
      stdin: 'i'.repeat(480_000),
    });
    process.stdout.write(`gateway from ${checkout}; request body ${body.length} bytes\n`);

    const etcdBefore = await etcdBytesInUse();
    let created = 0;
    let refusal = '';
    const ids: string[] = [];
    const startedAt = Date.now();
    while (created < MAX_POSTS) {
      const response = await fetch(`${url}/api/v1/executions`, { method: 'POST', headers, body });
      if (response.status === 202) {
        created += 1;
        ids.push(((await response.json()) as { id: string }).id);
        continue;
      }
      refusal = `${response.status} Retry-After ${response.headers.get('retry-after')}: ${await response.text()}`;
      break;
    }
    const seconds = (Date.now() - startedAt) / 1000;
    // The compaction of old revisions aside, what the objects take once written.
    const stored = await storedObjects();
    const etcdAfter = await etcdBytesInUse();
    process.stdout.write(
      `storage: ${created} executions accepted in ${seconds.toFixed(1)} s (${(created / seconds).toFixed(1)}/s); ` +
        `${refusal ? `then ${refusal.slice(0, 300)}` : `stopped by the bench at ${MAX_POSTS}, none refused`}\n` +
        `storage: objects ${stored.count}, ${(stored.bytes / MiB).toFixed(1)} MiB as the API server returns them ` +
        `(${(stored.bytes / Math.max(1, stored.count) / 1024).toFixed(0)} KiB each); ` +
        `etcd in use ${(etcdBefore / MiB).toFixed(1)} -> ${(etcdAfter / MiB).toFixed(1)} MiB (+${((etcdAfter - etcdBefore) / MiB).toFixed(1)} MiB)\n`,
    );

    const reads = async (id: string) => {
      const before = executionGets();
      for (let i = 0; i < 100; i += 1) {
        const response = await fetch(`${url}/api/v1/executions/${id}`, { headers });
        if (!response.ok) throw new Error(`GET ${id}: ${response.status} ${await response.text()}`);
        await response.arrayBuffer();
      }
      return executionGets() - before;
    };
    const [pending, finished] = ids;
    if (!pending || !finished) throw new Error('fewer than two executions were accepted');
    const pendingGets = await reads(pending);
    const status = {
      phase: 'Succeeded',
      reason: 'Completed',
      exitCode: 0,
      stdout: 'o'.repeat(100_000),
      stderr: '',
      finishedAt: new Date().toISOString(),
    };
    const patched = kubectl([
      'patch',
      'executions.sandpod.dev',
      finished,
      '-n',
      namespace,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status }),
    ]);
    if (!patched.ok) throw new Error(patched.out);
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const result = (await (await fetch(`${url}/api/v1/executions/${finished}`, { headers })).json()) as {
        phase: string;
      };
      if (result.phase === 'Succeeded') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const finishedGets = await reads(finished);
    process.stdout.write(
      `reads: 100 GET of a Pending execution: ${pendingGets} API GETs; 100 GET of a finished one (100 KB stdout): ${finishedGets} API GETs\n`,
    );
  } finally {
    gateway?.child.kill('SIGTERM');
    deleteNamespace(namespace);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
