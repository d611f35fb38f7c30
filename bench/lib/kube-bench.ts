import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { type Socket as ClientSocket, io as connectClient } from 'socket.io-client';
import type { ExecutionResult } from '../../contract/index.js';
import { kubeconfigPath, kubectl, repoPath } from '../../test/helpers/cluster-suite.js';
import { sha256Hex } from '../../test/helpers/gateway.js';

// What the Kubernetes benches share: the gateway and the operator as processes of their own on the
// dev cluster, a tenant of the bench's own namespace and token, and timing a program over a socket.

/** USER_HZ of Linux on every architecture Node runs on here. */
export const CLOCK_TICKS_PER_SECOND = 100;

/** The bench's tenant: its namespace and its token. */
export interface BenchTenant {
  namespace: string;
  token: string;
}

export /** A child process whose output is kept, for the message when it fails. */
class Child {
  output = '';
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;

  constructor(script: string, env: Record<string, string>) {
    const built = repoPath(`dist/${script.replace(/\.ts$/, '.js')}`);
    const args = existsSync(built) ? [built] : ['--import=tsx', repoPath(script)];
    this.child = spawn(process.execPath, args, {
      env: { ...process.env, KUBECONFIG: kubeconfigPath, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-100_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  async until(pattern: RegExp, what: string): Promise<RegExpExecArray> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const match = pattern.exec(this.output);
      if (match) return match;
      if (this.child.exitCode !== null) throw new Error(`${what} exited:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`${what} did not start within 60 s:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** CPU seconds the process has used so far (user and system), from /proc. */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / CLOCK_TICKS_PER_SECOND;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    const killLater = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(killLater);
  }
}

/** Creates the named Runtimes from manifests/runtimes/ where the cluster has none yet. */
export function ensureRuntimes(names: string[]): void {
  for (const runtime of names) {
    if (kubectl(['get', 'runtimes.sandpod.dev', runtime]).ok) continue;
    const created = kubectl(['create', '-f', repoPath(`manifests/runtimes/${runtime}.yaml`)]);
    if (!created.ok && !/AlreadyExists/.test(created.out)) throw new Error(created.out);
  }
}

export function writeConfig(dir: string, name: string, content: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, yaml.dump(content));
  return file;
}

export async function startGateway(
  dir: string,
  tenant: BenchTenant,
  backend: 'kubernetes' | 'embedded' = 'kubernetes',
  env: Record<string, string> = {},
): Promise<{ child: Child; url: string }> {
  const config = writeConfig(dir, `gateway-${backend}-${env.SANDPOD_OCI_RUNTIME ?? ''}.yaml`, {
    backend,
    host: '127.0.0.1',
    port: 0,
    tenants: [
      { name: 'bench', tokenSha256: [sha256Hex(tenant.token)], maxConcurrent: 1000, ratePerSecond: 1000, burst: 1000 },
    ],
    kubernetes: { namespaces: { bench: tenant.namespace } },
    socket: { idleTimeoutMs: 600_000 },
  });
  // At info it logs its URL (port 0 picks a free one), and a line per execution.
  const child = new Child('gateway/main.ts', { SANDPOD_CONFIG: config, LOG_LEVEL: 'info', ...env });
  const [, url] = await child.until(/"url":"(http:\/\/[^"]+)\/"/, 'the gateway');
  for (let attempt = 0; attempt < 300; attempt++) {
    const ready = await fetch(`${url}/readyz`).catch(() => undefined);
    const runtimes = await fetch(`${url}/api/v1/runtimes`, { headers: { authorization: `Bearer ${tenant.token}` } })
      .then((response) => response.json() as Promise<{ name: string }[]>)
      .catch(() => []);
    if (ready?.ok && runtimes.some((runtime) => runtime.name === 'python')) return { child, url: url as string };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the gateway did not become ready with the python runtime:\n${child.output}`);
}

export function connect(url: string, token: string): Promise<ClientSocket> {
  const socket = connectClient(url, {
    auth: { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

export interface Timed {
  firstOutputMs: number;
  exitMs: number;
  result: ExecutionResult;
}

/** Runs one program over a socket; times from the `run` emit to the first output and to `exit`. */
export function runOverSocket(
  socket: ClientSocket,
  body: unknown,
  onOutput?: (data: string, first: boolean, id: string) => void,
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    let id: string | undefined;
    let firstOutputMs = Number.NaN;
    const early: { event: string; payload: { id: string } }[] = [];
    const onAny = (event: string, payload: { id: string; data?: string } & Partial<ExecutionResult>) => {
      if (id === undefined) {
        early.push({ event, payload });
        return;
      }
      if (payload.id !== id) return;
      if (event === 'output') {
        const first = Number.isNaN(firstOutputMs);
        if (first) firstOutputMs = performance.now() - startedAt;
        onOutput?.(payload.data ?? '', first, id);
      } else if (event === 'exit') {
        socket.offAny(onAny);
        const exitMs = performance.now() - startedAt;
        resolve({ firstOutputMs, exitMs, result: payload as ExecutionResult });
      }
    };
    socket.onAny(onAny);
    socket
      .timeout(120_000)
      .emitWithAck('run', body)
      .then((ack: { id?: string; error?: unknown }) => {
        if (!ack.id) {
          socket.offAny(onAny);
          reject(new Error(`run refused: ${JSON.stringify(ack.error)}`));
          return;
        }
        id = ack.id;
        for (const { event, payload } of early.splice(0)) onAny(event, payload);
      }, reject);
  });
}
