// `make chaos`: executions at a steady rate through two gateway replicas (Kubernetes mode) and two
// operator replicas (leader election on a Lease), all local processes on the dev cluster's real
// node (gVisor pods), while faults land on a schedule: the operator leader and a gateway replica
// SIGKILLed (its clients reconnect to the other replica and `attach`, or GET their result by id),
// kube-apiserver, etcd, kubelet and containerd restarted (dev-cluster/restart.sh). Then it checks
// that every accepted execution got exactly one result, the one its program deserves
// (bench/lib/chaos-mix.ts; a SystemError counts against it), that no pod was created twice for
// one Execution (the API server's audit log, which dev-cluster/up.sh turns on for pod creates),
// and that no pod or input Secret is left. An operator replica that exits by itself (a leader
// that lost its Lease) is started again, as its Deployment would be. Prints tables; exits non-zero
// when anything was lost, duplicated or wrong.
//
// Knobs: CHAOS_EXECUTIONS (2000), CHAOS_RATE (executions started per second, 1.2), CHAOS_FAULTS
// (how many of each, default operator=5,gateway=5,apiserver=3,etcd=2,kubelet=2,containerd=2),
// CHAOS_CLIENT_TIMEOUT_S (how long a client waits for its result, 900).
// Uses a dev cluster started from this checkout (it restarts its processes), or starts one and
// stops it at the end; hold /tmp/sandpod-cluster.lock around it on a shared machine.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { connect as connectNet, createServer } from 'node:net';
import { loadavg } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { io as connectClient, type Socket } from 'socket.io-client';
import type { ExecutionResult } from '../contract/index.js';
import { podNameFor } from '../contract/objects.js';
import { sha256Hex } from '../test/helpers/gateway.js';
import {
  addedLatencyMs,
  affectedBy,
  type FaultWindow,
  type FinishedExecution,
  median,
  podCreatesFromAudit,
  undisturbedLatency,
} from './lib/chaos-figures.js';
import { type ChaosKind, MIX, PROGRAMS, programOf } from './lib/chaos-mix.js';
import { percentile } from './lib/probes.js';

type FaultKind = 'operator' | 'gateway' | 'apiserver' | 'etcd' | 'kubelet' | 'containerd';
const FAULT_KINDS: FaultKind[] = ['operator', 'gateway', 'apiserver', 'etcd', 'kubelet', 'containerd'];

const EXECUTIONS = Number(process.env.CHAOS_EXECUTIONS ?? 2000);
const RATE = Number(process.env.CHAOS_RATE ?? 1.2);
const CLIENT_TIMEOUT_MS = Number(process.env.CHAOS_CLIENT_TIMEOUT_S ?? 900) * 1000;
const FAULT_COUNTS = parseFaultCounts(
  process.env.CHAOS_FAULTS ?? 'operator=5,gateway=5,apiserver=3,etcd=2,kubelet=2,containerd=2',
);

const repo = new URL('../', import.meta.url).pathname;
const state = path.join(repo, '.sandpod');
const kubeconfig = path.join(state, 'kubeconfig');
const run = `${Date.now().toString(36)}`;
const namespace = `sandpod-chaos-${run}`;
const workDir = path.join('/tmp', `sandpod-chaos-${run}`);
const token = randomBytes(24).toString('hex');
const t0 = performance.now();
const now = () => performance.now() - t0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const execFileAsync = promisify(execFile);

function parseFaultCounts(text: string): Record<FaultKind, number> {
  const counts = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
  for (const part of text.split(',').filter(Boolean)) {
    const [kind, count] = part.split('=');
    if (!FAULT_KINDS.includes(kind as FaultKind) || !Number.isInteger(Number(count))) {
      throw new Error(
        `CHAOS_FAULTS: cannot read ${JSON.stringify(part)} (kind=count, kinds ${FAULT_KINDS.join(', ')})`,
      );
    }
    counts[kind as FaultKind] = Number(count);
  }
  return counts;
}

function log(message: string): void {
  process.stderr.write(`[chaos ${(now() / 1000).toFixed(1)}s] ${message}\n`);
}

async function kubectl(args: string[], input?: string): Promise<string> {
  const kubectlPath = /^SANDPOD_KUBECTL=(.+)$/m.exec(readFileSync(path.join(state, 'bin.env'), 'utf8'))?.[1];
  const child = execFileAsync(kubectlPath ?? 'kubectl', args, {
    env: { ...process.env, KUBECONFIG: kubeconfig },
    maxBuffer: 1 << 30,
    timeout: 120_000,
  });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  return (await child).stdout;
}

/** kubectl, tried again for up to a minute: the API server may be restarting. */
async function kubectlRetried(args: string[], input?: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await kubectl(args, input);
    } catch (error) {
      if (attempt >= 60) throw error;
      await sleep(1000);
    }
  }
}

// --- the dev cluster ------------------------------------------------------------------------------

function pidOf(component: string): number | undefined {
  const file = path.join(state, 'pids', `${component}.pid`);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split(' ')[0]);
  return existsSync(`/proc/${pid}`) ? pid : undefined;
}

/** Starts the dev cluster from this checkout unless it runs; true when this run started it. */
function ensureCluster(): boolean {
  const apiserver = pidOf('kube-apiserver');
  if (apiserver !== undefined) {
    const argv = readFileSync(`/proc/${apiserver}/cmdline`, 'utf8');
    if (!argv.includes('--audit-log-path=')) {
      throw new Error(
        'the running dev cluster has no audit log (started before it was added): dev-cluster/down.sh, then again',
      );
    }
    return false;
  }
  log('starting the dev cluster (dev-cluster/up.sh)');
  execFileSync(path.join(repo, 'dev-cluster/up.sh'), { stdio: ['ignore', 'inherit', 'inherit'] });
  return true;
}

// --- sandpod processes ---------------------------------------------------------------------------

/** Every process this run started, killed when it ends however it ends. */
const processes = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of processes) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

class Proc {
  child: ChildProcess;
  exited = false;

  constructor(
    readonly name: string,
    script: string,
    env: Record<string, string>,
  ) {
    const logFd = openSync(path.join(workDir, `${name}.log`), 'a');
    this.child = spawn(process.execPath, [path.join(repo, 'dist', script)], {
      env: { ...process.env, KUBECONFIG: kubeconfig, ...env },
      stdio: ['ignore', logFd, logFd],
    });
    processes.add(this.child);
    this.child.once('exit', () => {
      this.exited = true;
      processes.delete(this.child);
    });
  }

  /** Set when this run killed it (a fault, or the end), as against an exit of its own. */
  killedHere = false;

  kill(signal: NodeJS.Signals): Promise<void> {
    this.killedHere = true;
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill(signal);
    });
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function writeYaml(name: string, content: unknown): string {
  const file = path.join(workDir, name);
  writeFileSync(file, yaml.dump(content));
  return file;
}

const devOperator = yaml.load(readFileSync(path.join(repo, 'dev-cluster/operator.yaml'), 'utf8')) as {
  pod: Record<string, unknown>;
};
const operatorConfig = () =>
  writeYaml('operator.yaml', {
    watchNamespace: namespace,
    leaderElection: { enabled: true, leaseNamespace: namespace, leaseName: 'sandpod-operator' },
    metrics: { host: '127.0.0.1', port: 0 },
    shutdownGraceMs: 2_000,
    // 2 cores: pods small enough that ten run at once within the node's CPU.
    pod: { ...devOperator.pod, cpus: 0.15 },
    capacity: { maxRunningPerNamespace: 10 },
  });

class Operators {
  private readonly replicas: (Proc | undefined)[] = [undefined, undefined];
  private started = 0;
  constructor(private readonly config: string) {}

  /** Replicas that ended by themselves (a leader that could not renew its Lease exits) and were started again. */
  exits = 0;
  private stopping = false;

  start(slot: number): Proc {
    this.started += 1;
    const name = `operator-${'ab'[slot]}${this.started}`;
    const proc = new Proc(name, 'operator/main.js', {
      SANDPOD_OPERATOR_CONFIG: this.config,
      POD_NAME: name,
      LOG_LEVEL: 'info',
    });
    this.replicas[slot] = proc;
    // As its Deployment's kubelet would: a replica that exits on its own is started again.
    proc.child.once('exit', () => {
      if (this.stopping || this.replicas[slot] !== proc || proc.killedHere) return;
      this.exits += 1;
      log(`${name} exited by itself; starting a replacement`);
      setTimeout(() => {
        if (!this.stopping && this.replicas[slot] === proc) this.start(slot);
      }, 1000);
    });
    return proc;
  }

  async leader(): Promise<string> {
    return (
      await kubectlRetried([
        '-n',
        namespace,
        'get',
        'lease',
        'sandpod-operator',
        '-o',
        'jsonpath={.spec.holderIdentity}',
      ])
    ).trim();
  }

  kill(slot: number): Promise<void> {
    return this.replicas[slot]?.kill('SIGKILL') ?? Promise.resolve();
  }

  slotOf(name: string): number {
    return this.replicas.findIndex((proc) => proc?.name === name && !proc.exited);
  }

  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.replicas.map((proc) => proc?.kill('SIGTERM')));
  }
}

class Gateways {
  readonly urls: string[] = [];
  private readonly replicas: (Proc | undefined)[] = [undefined, undefined];
  private readonly ports: number[] = [];
  private started = 0;
  constructor(private readonly config: string) {}

  async init(): Promise<void> {
    for (let slot = 0; slot < 2; slot++) {
      this.ports[slot] = await freePort();
      this.urls[slot] = `http://127.0.0.1:${this.ports[slot]}`;
      await this.start(slot);
    }
  }

  async start(slot: number): Promise<void> {
    this.started += 1;
    this.replicas[slot] = new Proc(`gateway-${'ab'[slot]}${this.started}`, 'gateway/main.js', {
      SANDPOD_CONFIG: this.config,
      HOST: '127.0.0.1',
      PORT: String(this.ports[slot]),
      LOG_LEVEL: 'info',
    });
    await this.ready(slot);
  }

  async ready(slot: number): Promise<void> {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (this.replicas[slot]?.exited) throw new Error(`gateway ${slot} exited while starting (${workDir})`);
      const runtimes = await fetch(`${this.urls[slot]}/api/v1/runtimes`, {
        headers: { authorization: `Bearer ${token}` },
      })
        .then((response) => (response.ok ? (response.json() as Promise<{ name: string }[]>) : []))
        .catch(() => []);
      const ready = await fetch(`${this.urls[slot]}/readyz`).then(
        (response) => response.ok,
        () => false,
      );
      if (ready && ['python', 'c', 'bash'].every((name) => runtimes.some((runtime) => runtime.name === name))) return;
      await sleep(250);
    }
    throw new Error(`gateway ${slot} did not become ready in 120 s`);
  }

  kill(slot: number): Promise<void> {
    return this.replicas[slot]?.kill('SIGKILL') ?? Promise.resolve();
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.replicas.map((proc) => proc?.kill('SIGTERM')));
  }
}

// --- clients ----------------------------------------------------------------------------------------

interface Record_ {
  index: number;
  kind: ChaosKind;
  gateway: number;
  /** Submissions refused with 429/503 before one was accepted, and creates that got no answer. */
  refused: number;
  unanswered: number;
  /** Socket.IO connections that failed (refused or timed out) before one was made, and the last error. */
  connectFailures: number;
  connectError?: string;
  /** When the client started, and when its execution was accepted (ms since the campaign's start). */
  submittedMs: number;
  id?: string;
  acceptedMs?: number;
  finishedMs?: number;
  result?: ExecutionResult;
  /** `exit` events received for this id, over every socket of the client. */
  exits: number;
  /** Reconnections (Socket.IO `attach`) or failed GETs answered by the other replica. */
  reattaches: number;
  /** A second read of a finished result, from the other replica, that differed. */
  inconsistent?: string;
  problem?: string;
}

const TERMINAL = new Set(['Succeeded', 'Failed']);
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

async function restClient(record: Record_, gateways: Gateways, deadline: number): Promise<void> {
  const program = programOf(record.index);
  let slot = record.gateway;
  while (record.id === undefined) {
    if (Date.now() > deadline) return;
    try {
      const response = await fetch(`${gateways.urls[slot]}/api/v1/executions`, {
        method: 'POST',
        headers,
        body: JSON.stringify(program.request(record.index)),
        signal: AbortSignal.timeout(60_000),
      });
      const body = (await response.json()) as { id?: string; error?: unknown };
      if (response.status === 202 && body.id) {
        record.id = body.id;
        record.acceptedMs = now();
      } else if (response.status === 429 || response.status === 503) {
        record.refused += 1;
        await sleep(Number(response.headers.get('retry-after') ?? 1) * 1000);
      } else {
        record.problem = `create answered ${response.status}: ${JSON.stringify(body)}`;
        return;
      }
    } catch {
      // No answer: the replica died under the request. It may have made the Execution all the same.
      record.unanswered += 1;
      slot = 1 - slot;
      await sleep(500);
    }
  }
  for (;;) {
    if (Date.now() > deadline) return;
    try {
      const response = await fetch(`${gateways.urls[slot]}/api/v1/executions/${record.id}`, {
        headers,
        signal: AbortSignal.timeout(30_000),
      });
      if (response.status === 200) {
        const result = (await response.json()) as ExecutionResult;
        if (TERMINAL.has(result.phase)) {
          record.finishedMs = now();
          record.result = result;
          record.exits = 1;
          break;
        }
      } else if (response.status >= 500 || response.status === 404) {
        // 404 too: a replica that has not yet seen the Execution through its watch may answer so.
        slot = 1 - slot;
        record.reattaches += 1;
      }
    } catch {
      slot = 1 - slot;
      record.reattaches += 1;
    }
    await sleep(1000);
  }
  // The other replica must tell the same result: a finished result never changes.
  const again = await fetch(`${gateways.urls[1 - slot]}/api/v1/executions/${record.id}`, { headers })
    .then((response) => (response.ok ? (response.json() as Promise<ExecutionResult>) : undefined))
    .catch(() => undefined);
  if (again && (again.reason !== record.result?.reason || again.stdout !== record.result?.stdout)) {
    record.inconsistent = `the other replica says ${again.reason} ${JSON.stringify(again.stdout?.slice(0, 40))}`;
  }
}

function connectSocket(url: string): Promise<Socket> {
  const socket = connectClient(url, {
    auth: { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}

/** Refusals a client may send again after a pause: the same as REST's 429 and 503. */
const RETRYABLE = new Set(['too_many_requests', 'at_capacity', 'backend_unavailable', 'shutting_down']);

type Ack = { id?: string; error?: { code?: string; message?: string } };

/**
 * One Socket.IO client: `run`, its input (interactive), then `exit`; when its replica dies it
 * connects to the other one and `attach`es, sending input again only if the first was not acked.
 */
async function socketClient(record: Record_, gateways: Gateways, deadline: number): Promise<void> {
  const program = programOf(record.index);
  let slot = record.gateway;
  let typedAcked = program.typed === undefined;
  while (record.result === undefined && Date.now() < deadline) {
    let socket: Socket;
    try {
      socket = await connectSocket(gateways.urls[slot] as string);
    } catch (error) {
      record.connectFailures += 1;
      record.connectError = (error as Error).message;
      slot = 1 - slot;
      await sleep(500);
      continue;
    }
    const lost = new Promise<'lost'>((resolve) => socket.once('disconnect', () => resolve('lost')));
    // An ack may wait (the API server restarting), but not for a replica that is gone.
    const ackOf = async (event: string, payload: unknown): Promise<Ack> => {
      const ack = socket.timeout(Math.max(1, deadline - Date.now())).emitWithAck(event, payload) as Promise<Ack>;
      const outcome = await Promise.race([ack, lost]);
      if (outcome === 'lost') throw new Error(`the connection was lost before the ${event} ack`);
      return outcome;
    };
    // `exit` carries no output (outputStreamed): it came in `output` events, replayed in full
    // from the start on every attach.
    let stdout = '';
    socket.on('output', (payload: { id: string; stream: string; data: string }) => {
      if (payload.id === record.id && payload.stream === 'stdout') stdout += payload.data;
    });
    const exited = new Promise<'exit'>((resolve) => {
      socket.on('exit', (payload: ExecutionResult & { id: string }) => {
        if (payload.id !== record.id) return;
        record.exits += 1;
        if (record.result === undefined) {
          record.result = { ...payload, stdout };
          record.finishedMs = now();
        }
        resolve('exit');
      });
    });
    try {
      if (record.id === undefined) {
        const ack = await ackOf('run', program.request(record.index));
        if (!ack.id) {
          if (RETRYABLE.has(ack.error?.code ?? '')) {
            record.refused += 1;
            socket.close();
            await sleep(1000);
            continue;
          }
          record.problem = `run refused: ${JSON.stringify(ack.error)}`;
          socket.close();
          return;
        }
        record.id = ack.id;
        record.acceptedMs = now();
      } else {
        record.reattaches += 1;
        const ack = await ackOf('attach', { id: record.id });
        if (!ack.id) throw new Error(`attach refused: ${JSON.stringify(ack.error)}`);
      }
      if (!typedAcked && program.typed) {
        // While the API server is away the gateway answers 503: the same socket tries again.
        const untilAcked = async (event: string, payload: unknown) => {
          for (;;) {
            const ack = await ackOf(event, payload);
            if (!ack.error) return;
            if (!RETRYABLE.has(ack.error.code ?? '') || Date.now() > deadline) {
              throw new Error(`${event} refused: ${JSON.stringify(ack.error)}`);
            }
            await sleep(1000);
          }
        };
        await untilAcked('stdin', { id: record.id, data: program.typed(record.index) });
        await untilAcked('stdin:end', { id: record.id });
        typedAcked = true;
      }
      const remaining = Math.max(0, deadline - Date.now());
      const outcome = await Promise.race([lost, exited, sleep(remaining).then(() => 'timeout' as const)]);
      if (outcome === 'exit') {
        // Linger a moment: a second `exit` for the same id would be a duplicate result.
        await sleep(500);
        socket.close();
        return;
      }
    } catch {
      // The replica died before it answered (a `run` without an ack may still have made the
      // Execution: counted, and the run is submitted again).
      if (record.id === undefined) record.unanswered += 1;
    }
    socket.close();
    slot = 1 - slot;
    await sleep(500);
  }
}

// --- faults -------------------------------------------------------------------------------------------

interface InjectedFault extends FaultWindow {
  kind: FaultKind;
  detail: string;
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(`${what} did not recover within ${timeoutMs / 1000} s`);
}

const apiserverReady = async () => (await kubectl(['get', '--raw', '/readyz']).catch(() => '')).trim() === 'ok';
const httpOk = (url: string) => async () => (await fetch(url).catch(() => undefined))?.ok ?? false;
const unixSocketAnswers = (file: string) => () =>
  new Promise<boolean>((resolve) => {
    const socket = connectNet(file);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** Kills the shims of the task bundles containerd holds open while it has not started yet. */
function killStuckShims(): string[] {
  const containerd = pidOf('containerd');
  if (containerd === undefined) return [];
  const ids = new Set<string>();
  for (const fd of readdirSync(`/proc/${containerd}/fd`)) {
    const target = (() => {
      try {
        return readlinkSync(`/proc/${containerd}/fd/${fd}`);
      } catch {
        return '';
      }
    })();
    const match = /io\.containerd\.runtime\.v2\.task\/[^/]+\/([0-9a-f]{64})\//.exec(target);
    if (match?.[1]) ids.add(match[1]);
  }
  const killed: string[] = [];
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!argv[0]?.includes('containerd-shim')) continue;
    const id = argv[argv.indexOf('-id') + 1];
    if (id && ids.has(id)) {
      process.kill(Number(entry), 'SIGKILL');
      killed.push(`${entry} (${id.slice(0, 12)})`);
    }
  }
  return killed;
}

async function restartComponent(component: string): Promise<void> {
  await execFileAsync(path.join(repo, 'dev-cluster/restart.sh'), [component], { timeout: 60_000 });
}

async function injectFault(
  kind: FaultKind,
  number: number,
  operators: Operators,
  gateways: Gateways,
): Promise<InjectedFault> {
  const startMs = now();
  let detail = '';
  switch (kind) {
    case 'operator': {
      const leader = await operators.leader();
      const slot = operators.slotOf(leader);
      if (slot < 0) throw new Error(`the Lease names ${leader}, which is not a live replica of this run`);
      const killedAt = now();
      await operators.kill(slot);
      operators.start(slot);
      await until('a new operator leader', async () => {
        const holder = await operators.leader();
        return holder !== leader && operators.slotOf(holder) >= 0;
      });
      detail = `${leader} killed; ${await operators.leader()} leads`;
      return { kind, startMs: killedAt, recoveredMs: now(), detail };
    }
    case 'gateway': {
      const slot = number % 2;
      await gateways.kill(slot);
      await sleep(2000);
      await gateways.start(slot);
      detail = `replica ${slot} killed, started again`;
      break;
    }
    case 'apiserver':
      await restartComponent('kube-apiserver');
      await until('kube-apiserver', apiserverReady);
      break;
    case 'etcd':
      await restartComponent('etcd');
      await until('etcd', httpOk('http://127.0.0.1:12379/health'));
      await until('kube-apiserver', apiserverReady);
      break;
    case 'kubelet':
      await restartComponent('kubelet');
      await until('kubelet', httpOk('http://127.0.0.1:10248/healthz'));
      break;
    case 'containerd': {
      await restartComponent('containerd');
      const socket = unixSocketAnswers(path.join(state, 'run/containerd/containerd.sock'));
      try {
        await until('containerd', socket, 60_000);
      } catch {
        // containerd 1.7 loads the shims it finds before it serves its socket and waits without a
        // deadline for each to delete a task that is gone: a runsc shim that never answers keeps
        // it from starting at all (containerd/containerd#13848, google/gvisor#14427). What an
        // operator does there: SIGKILL the shims of the bundles it is stuck on.
        detail = `containerd hung at start; SIGKILLed the shims it waited on: ${killStuckShims().join(', ')}`;
        await until('containerd', socket);
      }
      break;
    }
  }
  return { kind, startMs, recoveredMs: now(), detail };
}

/** The faults in the order they land: the kinds interleaved, spread evenly over the load. */
function faultSchedule(): FaultKind[] {
  const remaining = { ...FAULT_COUNTS };
  const schedule: FaultKind[] = [];
  while (FAULT_KINDS.some((kind) => remaining[kind] > 0)) {
    for (const kind of FAULT_KINDS) {
      if (remaining[kind] > 0) {
        schedule.push(kind);
        remaining[kind] -= 1;
      }
    }
  }
  return schedule;
}

// --- the campaign ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  mkdirSync(workDir, { recursive: true });
  const startedCluster = ensureCluster();
  await kubectlRetried(['create', 'namespace', namespace]);
  await kubectlRetried(['apply', '-n', namespace, '-f', path.join(repo, 'manifests/tenant/deny-network.yaml')]);
  const operators = new Operators(operatorConfig());
  const gateways = new Gateways(
    writeYaml('gateway.yaml', {
      backend: 'kubernetes',
      logLevel: 'info',
      tenants: [
        { name: 'chaos', tokenSha256: [sha256Hex(token)], maxConcurrent: 5000, ratePerSecond: 1000, burst: 1000 },
      ],
      kubernetes: {
        namespaces: { chaos: namespace },
        storage: { maxExecutionsPerTenant: 20_000, maxBytesPerTenant: 1 << 30 },
      },
      socket: { idleTimeoutMs: 3_600_000 },
    }),
  );
  const records: Record_[] = [];
  const faults: InjectedFault[] = [];
  let failure: unknown;
  try {
    operators.start(0);
    await until('the first operator leader', async () => operators.slotOf(await operators.leader()) === 0);
    operators.start(1);
    await gateways.init();
    log(`namespace ${namespace}, gateways ${gateways.urls.join(' ')}, logs in ${workDir}`);
    log(
      `${EXECUTIONS} executions at ${RATE}/s; faults ${JSON.stringify(FAULT_COUNTS)}; load average ${loadavg()[0]?.toFixed(2)}`,
    );

    const loadMs = (EXECUTIONS / RATE) * 1000;
    const loadStart = now();
    const schedule = faultSchedule();
    const faultLoop = (async () => {
      const perKind = new Map<FaultKind, number>();
      for (const [position, kind] of schedule.entries()) {
        const at = loadStart + ((position + 1) / (schedule.length + 1)) * loadMs;
        if (now() < at) await sleep(at - now());
        const number = perKind.get(kind) ?? 0;
        perKind.set(kind, number + 1);
        log(`fault ${position + 1}/${schedule.length}: ${kind} #${number + 1}`);
        const startMs = now();
        const fault = await injectFault(kind, number, operators, gateways).catch(
          (error: Error): InjectedFault => ({ kind, startMs, recoveredMs: now(), detail: `FAILED: ${error.message}` }),
        );
        faults.push(fault);
        log(`  recovered after ${((fault.recoveredMs - fault.startMs) / 1000).toFixed(1)} s ${fault.detail}`);
      }
    })();

    const clients: Promise<void>[] = [];
    for (let index = 0; index < EXECUTIONS; index++) {
      const due = loadStart + (index / RATE) * 1000;
      if (now() < due) await sleep(due - now());
      const record: Record_ = {
        index,
        kind: programOf(index).kind,
        gateway: index % 2,
        refused: 0,
        unanswered: 0,
        connectFailures: 0,
        submittedMs: now(),
        exits: 0,
        reattaches: 0,
      };
      records.push(record);
      const deadline = Date.now() + CLIENT_TIMEOUT_MS;
      const client = programOf(index).transport === 'rest' ? restClient : socketClient;
      clients.push(
        client(record, gateways, deadline).catch((error: Error) => {
          record.problem = `client failed: ${error.message}`;
        }),
      );
      if (index % 100 === 99) {
        const done = records.filter((r) => r.result).length;
        log(`${index + 1} started, ${done} finished, load average ${loadavg()[0]?.toFixed(2)}`);
      }
    }
    log('every execution started; waiting for the results and the remaining faults');
    await faultLoop;
    await Promise.all(clients);
    log(`every client is done (${records.filter((r) => r.result).length} results)`);
    await report(records, faults, operators.exits);
  } catch (error) {
    failure = error;
  } finally {
    await gateways.stopAll();
    await operators.stopAll();
    if (!process.env.CHAOS_KEEP)
      await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => undefined);
    if (startedCluster)
      execFileSync(path.join(repo, 'dev-cluster/down.sh'), { stdio: ['ignore', 'inherit', 'inherit'] });
  }
  if (failure) throw failure;
}

function auditLines(): string[] {
  const logs = path.join(state, 'logs');
  if (!existsSync(logs)) return [];
  // Rotated files (audit-<time>.log) first, oldest first by name, then the current one.
  const rotated = readdirSync(logs)
    .filter((name) => /^audit-.*\.log$/.test(name))
    .sort();
  return [...rotated, 'audit.log']
    .filter((name) => existsSync(path.join(logs, name)))
    .flatMap((name) => readFileSync(path.join(logs, name), 'utf8').split('\n'));
}

interface ExecutionObject {
  metadata: { name: string };
  status?: ExecutionResult & { phase?: string };
}

async function report(records: Record_[], faults: InjectedFault[], operatorExits: number): Promise<void> {
  // The cluster's own view, once its cleanup had time: every Execution, pods and Secrets left.
  const listExecutions = async () =>
    (
      JSON.parse(await kubectlRetried(['-n', namespace, 'get', 'executions.sandpod.dev', '-o', 'json'])) as {
        items: ExecutionObject[];
      }
    ).items;
  let leftPods: string[] = [];
  let leftSecrets: string[] = [];
  for (let attempt = 0; attempt < 24; attempt++) {
    leftPods = (await kubectlRetried(['-n', namespace, 'get', 'pods', '-o', 'name'])).split('\n').filter(Boolean);
    leftSecrets = (
      await kubectlRetried([
        '-n',
        namespace,
        'get',
        'secrets',
        '-l',
        'app.kubernetes.io/managed-by=sandpod',
        '-o',
        'name',
      ])
    )
      .split('\n')
      .filter(Boolean);
    if (leftPods.length === 0 && leftSecrets.length === 0) break;
    await sleep(5000);
  }
  const executions = await listExecutions();
  const byName = new Map(executions.map((execution) => [execution.metadata.name, execution]));
  const creates = podCreatesFromAudit(auditLines(), namespace);

  const accepted = records.filter((record) => record.id !== undefined);
  const acceptedIds = new Set(accepted.map((record) => record.id as string));
  const clientless = executions.filter((execution) => !acceptedIds.has(execution.metadata.name));

  for (const record of accepted) {
    const id = record.id as string;
    const problems: string[] = [];
    if (!record.result) problems.push('no result reached the client');
    else {
      const wrong = PROGRAMS[record.kind].check(record.result, record.index);
      if (wrong) problems.push(wrong);
    }
    if (record.exits > 1) problems.push(`${record.exits} exit events`);
    if (record.inconsistent) problems.push(record.inconsistent);
    const object = byName.get(id);
    if (!object) problems.push('no Execution in the cluster');
    else if (!TERMINAL.has(object.status?.phase ?? ''))
      problems.push(`Execution ${object.status?.phase ?? 'without status'}`);
    else if (record.result && object.status?.reason !== record.result.reason) {
      problems.push(`Execution says ${object.status?.reason}, the client got ${record.result.reason}`);
    }
    const pods = creates.get(podNameFor(id))?.created ?? 0;
    if (pods > 1) problems.push(`${pods} pods created`);
    if (problems.length > 0) record.problem = [record.problem, ...problems].filter(Boolean).join('; ');
  }

  const lost = accepted.filter((record) => !record.result || !byName.has(record.id as string));
  const duplicated = accepted.filter(
    (record) => record.exits > 1 || (creates.get(podNameFor(record.id as string))?.created ?? 0) > 1,
  );
  const systemErrors = accepted.filter((record) => record.result?.reason === 'SystemError');

  console.log(`\nChaos campaign: ${records.length} executions at ${RATE}/s, namespace ${namespace}\n`);
  console.log('| program | via | accepted | results | as deserved | reasons |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const kind of new Set(MIX)) {
    const ofKind = accepted.filter((record) => record.kind === kind);
    const reasons = new Map<string, number>();
    for (const record of ofKind) {
      const reason = record.result?.reason ?? 'none';
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    console.log(
      `| ${kind} | ${PROGRAMS[kind].transport === 'rest' ? 'REST' : 'Socket.IO'} | ${ofKind.length} | ${
        ofKind.filter((record) => record.result).length
      } | ${ofKind.filter((record) => !record.problem).length} | ${[...reasons].map(([reason, count]) => `${reason} ${count}`).join(', ')} |`,
    );
  }

  const timings = new Map<Record_, FinishedExecution>(
    accepted.map((record) => [
      record,
      {
        kind: record.kind,
        acceptedMs: record.acceptedMs as number,
        ...(record.finishedMs === undefined ? {} : { finishedMs: record.finishedMs }),
      },
    ]),
  );
  const timing = (record: Record_) => timings.get(record) as FinishedExecution;
  const undisturbed = undisturbedLatency([...timings.values()], faults);
  console.log(
    '\n| fault | injected | back after (median) | executions under way | added latency p50 / max | reattached clients | lost | duplicated | wrong result |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const kind of FAULT_KINDS) {
    const ofKind = faults.filter((fault) => fault.kind === kind);
    if (ofKind.length === 0) continue;
    const touched = accepted.filter((record) => ofKind.some((fault) => affectedBy(timing(record), fault)));
    const added = touched
      .map((record) => addedLatencyMs(timing(record), undisturbed))
      .filter((value): value is number => value !== undefined);
    const fmt = (value: number) => (Number.isNaN(value) ? '-' : `${(value / 1000).toFixed(1)} s`);
    console.log(
      `| ${kind} | ${ofKind.length} | ${fmt(median(ofKind.map((fault) => fault.recoveredMs - fault.startMs)))} | ${
        touched.length
      } | ${fmt(median(added))} / ${fmt(percentile(added, 100))} | ${
        touched.filter((record) => record.reattaches > 0).length
      } | ${touched.filter((record) => lost.includes(record)).length} | ${
        touched.filter((record) => duplicated.includes(record)).length
      } | ${touched.filter((record) => record.problem && !lost.includes(record) && !duplicated.includes(record)).length} |`,
    );
  }

  const podTotals = [...acceptedIds].map((id) => creates.get(podNameFor(id)) ?? { created: 0, refused: 0 });
  const refusedCreates = podTotals.reduce((sum, counts) => sum + counts.refused, 0);
  const unanswered = records.reduce((sum, record) => sum + record.unanswered, 0);
  console.log('\n| check | figure |');
  console.log('| --- | --- |');
  console.log(`| executions accepted (of ${records.length} clients) | ${accepted.length} |`);
  console.log(
    `| submissions refused with 429/503 and sent again | ${records.reduce((sum, r) => sum + r.refused, 0)} |`,
  );
  console.log(`| creates that got no answer (replica killed) and were sent again | ${unanswered} |`);
  const connectFailures = records.filter((record) => record.connectFailures > 0);
  console.log(
    `| Socket.IO connections that failed and were made again (clients) | ${connectFailures.reduce((sum, r) => sum + r.connectFailures, 0)} (${connectFailures.length})${
      connectFailures.length > 0 ? `; last error: ${connectFailures.at(-1)?.connectError}` : ''
    } |`,
  );
  for (const transport of ['rest', 'socket'] as const) {
    const waits = accepted
      .filter((record) => PROGRAMS[record.kind].transport === transport)
      .map((record) => (record.acceptedMs as number) - record.submittedMs);
    const fmt = (value: number) => `${(value / 1000).toFixed(1)} s`;
    console.log(
      `| ${transport === 'rest' ? 'REST' : 'Socket.IO'}: client start to accepted, p50 / p99 / max | ${fmt(percentile(waits, 50))} / ${fmt(percentile(waits, 99))} / ${fmt(percentile(waits, 100))} |`,
    );
  }
  console.log(
    `| Executions in the cluster no client was told of | ${clientless.length} (terminal: ${clientless.filter((e) => TERMINAL.has(e.status?.phase ?? '')).length}) |`,
  );
  console.log(`| results as deserved | ${accepted.filter((record) => !record.problem).length} of ${accepted.length} |`);
  console.log(`| lost (no result at the client, or no Execution) | ${lost.length} |`);
  console.log(`| duplicated (a second exit event, or a second pod) | ${duplicated.length} |`);
  console.log(`| SystemError | ${systemErrors.length} |`);
  console.log(
    `| pods created per accepted Execution (audit log): 0 / 1 / more | ${podTotals.filter((c) => c.created === 0).length} / ${
      podTotals.filter((c) => c.created === 1).length
    } / ${podTotals.filter((c) => c.created > 1).length} |`,
  );
  console.log(
    `| pod creates refused by the API server (AlreadyExists: a retry that made nothing) | ${refusedCreates} |`,
  );
  console.log(`| pods left / input Secrets left | ${leftPods.length} / ${leftSecrets.length} |`);
  console.log(
    `| clients that reattached (Socket.IO attach or GET from the other replica) | ${records.filter((r) => r.reattaches > 0).length} |`,
  );
  console.log(
    `| operator replicas that exited by themselves (a lost Lease) and were started again | ${operatorExits} |`,
  );
  console.log(
    `| load average at the end | ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')} |`,
  );

  console.log('\nFaults:');
  for (const fault of faults) {
    console.log(
      `- ${(fault.startMs / 1000).toFixed(0)} s ${fault.kind}: back after ${((fault.recoveredMs - fault.startMs) / 1000).toFixed(1)} s ${fault.detail}`,
    );
  }
  const bad = accepted.filter((record) => record.problem);
  if (bad.length > 0) {
    console.log('\nExecutions without the result they deserve:');
    for (const record of bad.slice(0, 40))
      console.log(`- #${record.index} ${record.kind} ${record.id}: ${record.problem}`);
  }
  const notAccepted = records.filter((record) => record.id === undefined);
  for (const record of notAccepted.slice(0, 20))
    console.log(`- #${record.index} ${record.kind} never accepted: ${record.problem ?? 'timed out'}`);
  writeFileSync(path.join(workDir, 'records.json'), JSON.stringify({ records, faults }, null, 1));
  const failedFaults = faults.filter((fault) => fault.detail.startsWith('FAILED'));
  if (bad.length + notAccepted.length + leftPods.length + leftSecrets.length + failedFaults.length > 0) {
    process.exitCode = 1;
  }
  console.log(`\nchaos: ${process.exitCode ? 'FAIL' : 'ok'} (records in ${workDir}/records.json)`);
}

// Exits at once when done: clients' timers for their deadline would otherwise keep it up.
main().then(
  () => process.exit(process.exitCode ?? 0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
