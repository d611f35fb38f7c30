import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { clientLoads, clusterReachable, eventually, kubectl, OperatorProcess, repo, skipOrFail } from './cluster.js';

// Needs the dev cluster with its real node (`make dev-cluster`: kubelet, containerd, the
// sandpod.local/runtime-* images, RuntimeClass gvisor). Runs the operator as a child process,
// confined to a namespace of its own, with Runtimes of their own names made from the default ones
// in manifests/runtimes, and checks what real programs in real pods end as. The pods run under the
// RuntimeClass named by SANDPOD_TEST_RUNTIME_CLASS (default gvisor; empty means the node's default,
// runc).

const runtimeClass = process.env.SANDPOD_TEST_RUNTIME_CLASS ?? 'gvisor';
const runtimeClassTitle = runtimeClass === '' ? 'runc (no RuntimeClass)' : `RuntimeClass ${runtimeClass}`;
const namespace = `sandpod-node-test-${process.pid}`;
const runtimeName = (language: string) => `node-test-${process.pid}-${language}`;
const LANGUAGES = ['python', 'c', 'javascript', 'bash'];

interface Status {
  phase?: string;
  reason?: string;
  message?: string;
  exitCode?: number;
  signal?: string;
  stdout?: string;
  stderr?: string;
  compile?: { exitCode?: number; output?: string };
}

const terminalStatus = (name: string) => () => {
  const result = kubectl(['get', 'ex', name, '-n', namespace, '-o', 'json']);
  if (!result.ok) return undefined;
  const status = (JSON.parse(result.out) as { status?: Status }).status;
  return status?.phase === 'Succeeded' || status?.phase === 'Failed' ? status : undefined;
};

/** A default Runtime from manifests/runtimes under this run's own name. */
function runtimeFromManifest(language: string): string {
  const manifest = yaml.load(readFileSync(join(repo, `manifests/runtimes/${language}.yaml`), 'utf8')) as {
    metadata: { name: string; labels?: Record<string, string> };
    spec: Record<string, unknown>;
  };
  return JSON.stringify({ ...manifest, metadata: { name: runtimeName(language) }, spec: manifest.spec });
}

function nodeReady(): boolean {
  const nodes = kubectl(['get', 'nodes', '-o', 'json']);
  if (!nodes.ok) return false;
  const items = (JSON.parse(nodes.out) as { items: { spec?: { taints?: unknown[] }; status?: unknown }[] }).items;
  return items.some((node) => {
    const conditions = (node.status as { conditions?: { type: string; status: string }[] }).conditions ?? [];
    const ready = conditions.some((condition) => condition.type === 'Ready' && condition.status === 'True');
    return ready && (node.spec?.taints ?? []).length === 0;
  });
}

/** The addresses of the API server a pod could try: the kubernetes Service and the node's own. */
function apiServerAddresses(): string[] {
  const service = kubectl(['get', 'service', 'kubernetes', '-n', 'default', '-o', 'jsonpath={.spec.clusterIP}']);
  const node = kubectl([
    'get',
    'nodes',
    '-o',
    'jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}',
  ]);
  const port = new URL(
    kubectl(['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}']).out || 'https://x:16443',
  ).port;
  return [
    ...(service.ok && service.out ? [`${service.out}:443`] : []),
    ...(node.ok && node.out ? [`${node.out.split(' ')[0]}:${port || '443'}`] : []),
  ];
}

const programs = {
  hello: {
    runtime: 'python',
    source: 'import sys\nprint("Hello from the node")\nprint("and a warning", file=sys.stderr)\n',
  },
  sum: {
    runtime: 'c',
    source: [
      '#include <stdio.h>',
      'int main(void) {',
      '  int a, b;',
      '  if (scanf("%d %d", &a, &b) != 2) return 2;',
      '  printf("%d\\n", a + b);',
      '  return 0;',
      '}',
      '',
    ].join('\n'),
    stdin: '2 40\n',
  },
  'compile-error': { runtime: 'c', source: 'int main(void) { return undeclared_name; }\n' },
  memory: {
    runtime: 'python',
    // Every chunk is written, so its pages are really in use.
    source: 'chunks = []\nwhile True:\n    chunks.append(b"x" * (8 << 20))\n',
    limits: { memoryMiB: 64 },
  },
  'cpu-loop': { runtime: 'c', source: 'int main(void) { for (;;); }\n', limits: { cpuTimeMs: 2000, wallTimeMs: 4000 } },
  'wall-sleep': {
    runtime: 'python',
    source: 'import time\nprint("sleeping", flush=True)\ntime.sleep(600)\n',
    limits: { wallTimeMs: 2000 },
  },
  'ignores-sigterm': {
    runtime: 'javascript',
    source: "process.on('SIGTERM', () => {});\nfor (;;) {}\n",
    limits: { cpuTimeMs: 2000, wallTimeMs: 4000 },
  },
  'fork-bomb': {
    runtime: 'python',
    source: [
      'import os, time',
      'children = 0',
      'try:',
      '    while True:',
      '        if os.fork() == 0:',
      '            time.sleep(60)',
      '            os._exit(0)',
      '        children += 1',
      'except OSError as error:',
      '    print("fork failed", error.errno)',
      '',
    ].join('\n'),
    limits: { pids: 16 },
  },
  'look-around': {
    runtime: 'bash',
    source: 'id -u\nls /var/run/secrets/kubernetes.io 2>&1 || true\ntouch /sandpod/src/x 2>&1 || true\n',
  },
  network: {
    runtime: 'python',
    source: [
      'import socket, sys',
      '# No route off the machine: the main table lists every route but the local ones.',
      'routes = [line.split()[0] for line in open("/proc/net/route").read().splitlines()[1:]]',
      'print("routes", " ".join(route for route in routes if route != "lo") or "none")',
      'for address in sys.argv[1:]:',
      '    host, port = address.rsplit(":", 1)',
      '    try:',
      '        socket.create_connection((host, int(port)), timeout=2).close()',
      '        print("connected", address)',
      '    except OSError as error:',
      '        print("refused", address, error)',
      '',
    ].join('\n'),
  },
} as const;
type ProgramName = keyof typeof programs;

describe(`programs on the dev cluster's node under ${runtimeClassTitle} (needs a node)`, function () {
  this.timeout(180_000);
  const workDir = mkdtempSync(join(tmpdir(), 'sandpod-node-test-'));
  let operator: OperatorProcess | undefined;
  let apiServer: string[] = [];

  before(function () {
    if (!clusterReachable()) skipOrFail(this, 'no API server answers (dev-cluster/up.sh)');
    if (!nodeReady()) skipOrFail(this, 'no Ready node without taints (dev-cluster/up.sh starts one)');
    if (runtimeClass !== '' && !kubectl(['get', 'runtimeclass', runtimeClass]).ok) {
      skipOrFail(this, `no RuntimeClass ${runtimeClass} (SANDPOD_TEST_RUNTIME_CLASS= runs under runc)`);
    }
    if (!clientLoads()) skipOrFail(this, '@kubernetes/client-node does not load on this Node.js');
    const crds = kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(repo, 'manifests/crds/')]);
    assert.ok(crds.ok, crds.out);
    assert.ok(kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/executions.sandpod.dev']).ok);
    assert.ok(kubectl(['create', 'namespace', namespace]).ok);
    for (const language of LANGUAGES) {
      const applied = kubectl(['apply', '-f', '-'], runtimeFromManifest(language));
      assert.ok(applied.ok, applied.out);
    }
    const configPath = join(workDir, 'operator.yaml');
    writeFileSync(
      configPath,
      JSON.stringify({
        watchNamespace: namespace,
        pod: { runtimeClassName: runtimeClass },
        metrics: { port: 0, host: '127.0.0.1' },
        leaderElection: { enabled: false },
      }),
    );
    operator = new OperatorProcess(configPath, 'node-test-operator');
    apiServer = apiServerAddresses();
    // Every program starts at once; each test then waits for its own end.
    for (const [name, program] of Object.entries(programs)) {
      const spec = {
        ...program,
        runtime: runtimeName(program.runtime),
        ...(name === 'network' ? { args: apiServer } : {}),
      };
      const body = JSON.stringify({
        apiVersion: 'sandpod.dev/v1alpha1',
        kind: 'Execution',
        metadata: { name, namespace },
        spec,
      });
      const created = kubectl(['create', '-f', '-'], body);
      assert.ok(created.ok, created.out);
    }
  });

  let anyFailed = false;
  afterEach(function () {
    if (this.currentTest?.state === 'failed') anyFailed = true;
  });

  after(async () => {
    if (anyFailed && operator)
      process.stderr.write(`operator log (last 4000 characters):\n${operator.log.slice(-4000)}\n`);
    await operator?.stop();
    kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
    for (const language of LANGUAGES) {
      kubectl(['delete', 'runtime.sandpod.dev', runtimeName(language), '--ignore-not-found']);
    }
    rmSync(workDir, { recursive: true, force: true });
  });

  const ended = (name: ProgramName) => eventually(`${name} to end`, terminalStatus(name), 120_000);

  it("should put a Python program's stdout and stderr into status when it exits 0", async () => {
    const status = await ended('hello');
    assert.equal(status.reason, 'Completed', status.message);
    assert.equal(status.phase, 'Succeeded');
    assert.equal(status.exitCode, 0);
    assert.equal(status.stdout, 'Hello from the node\n');
    // Apart only with the feature gate PodLogsQuerySplitStreams, which dev-cluster/up.sh sets.
    assert.equal(status.stderr, 'and a warning\n');
  });

  it('should compile a C program in the init container and run it with stdin', async () => {
    const status = await ended('sum');
    assert.equal(status.reason, 'Completed', status.message);
    assert.equal(status.compile?.exitCode, 0);
    assert.equal(status.stdout, '42\n');
  });

  it("should end as CompileError with the compiler's output when compiling fails", async () => {
    const status = await ended('compile-error');
    assert.equal(status.reason, 'CompileError', status.message);
    assert.equal(status.phase, 'Failed');
    assert.notEqual(status.compile?.exitCode, 0);
    // gcc quotes with ‘ ’ in a UTF-8 locale (the runtime images have C.UTF-8), with ' ' in C.
    assert.match(status.compile?.output ?? '', /error: ['‘]undeclared_name['’] undeclared/);
  });

  it('should end as MemoryLimitExceeded when a program allocates past its memory limit', async () => {
    const status = await ended('memory');
    assert.equal(status.reason, 'MemoryLimitExceeded', `${status.message} ${status.stderr}`);
  });

  it('should end as TimeLimitExceeded when a busy loop uses up its CPU time', async () => {
    const status = await ended('cpu-loop');
    assert.equal(status.reason, 'TimeLimitExceeded', status.message);
  });

  it("should end as TimeLimitExceeded at the pod's deadline when a program sleeps past its wall time", async () => {
    const status = await ended('wall-sleep');
    assert.equal(status.reason, 'TimeLimitExceeded', status.message);
    assert.match(status.message ?? '', /wall time/);
    assert.equal(status.stdout, 'sleeping\n');
  });

  it('should kill a Node.js busy loop that ignores SIGTERM at its CPU limit', async () => {
    const status = await ended('ignores-sigterm');
    assert.equal(status.reason, 'TimeLimitExceeded', status.message);
  });

  it('should make fork fail at the pids limit and still end the run', async () => {
    const status = await ended('fork-bomb');
    assert.equal(status.reason, 'Completed', `${status.message} ${status.stderr}`);
    assert.equal(status.stdout, 'fork failed 11\n');
  });

  it('should run as uid 65534 without a service account token or a writable source directory', async () => {
    const status = await ended('look-around');
    assert.equal(status.reason, 'Completed', status.message);
    const [uid, secrets, touch] = (status.stdout ?? '').trim().split('\n');
    assert.equal(uid, '65534');
    assert.match(secrets ?? '', /No such file or directory/);
    assert.match(touch ?? '', /Read-only file system/);
  });

  it('should have no route off the machine and refuse TCP connections to the API server', async () => {
    const status = await ended('network');
    assert.equal(status.reason, 'Completed', status.message);
    assert.ok(apiServer.length > 0, 'found no API server address to try');
    const [routes, ...lines] = (status.stdout ?? '').trim().split('\n');
    assert.equal(routes, 'routes none', status.stdout);
    assert.equal(lines.length, apiServer.length, status.stdout);
    for (const line of lines) assert.match(line, /^refused /, status.stdout);
  });
});
