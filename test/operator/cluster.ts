import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { kubeconfigPath, kubectl, repo } from '../helpers/dev-cluster.js';

// What the operator's cluster suites share: the dev cluster's kubeconfig and kubectl, polling for
// an end state, the operator as a child process, and the rule for a missing cluster (skip, or fail
// when SANDPOD_REQUIRE_CLUSTER=1 says a cluster must be there).

export { kubectl, kubectlPath, repo } from '../helpers/dev-cluster.js';
export const kubeconfig = kubeconfigPath;

/** A Runtime whose image no node has and no registry serves: its pods stay Pending to be looked at. */
export function missingImageRuntime(name: string) {
  return {
    apiVersion: 'sandpod.dev/v1alpha1',
    kind: 'Runtime',
    metadata: { name },
    spec: {
      image: 'sandpod.local/runtime-missing:test',
      fileName: 'main.py',
      run: ['python3', 'main.py'],
      version: '0',
    },
  };
}

export function clusterReachable(): boolean {
  return existsSync(kubeconfig) && kubectl(['get', '--raw', '/readyz']).ok;
}

export { clusterRequired, installCrds, skipOrFail } from '../helpers/dev-cluster.js';

export async function eventually<T>(
  what: string,
  read: () => T | undefined,
  timeoutMs = 60_000,
  intervalMs = 500,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** @kubernetes/client-node 2.0.1 loads on Node 20 with undici pinned to 7 (package.json overrides). */
const nodeImports = ['--import=tsx'];

/** The operator can only start where @kubernetes/client-node loads. */
export function clientLoads(): boolean {
  const load = "import('@kubernetes/client-node').then(() => process.exit(0), () => process.exit(1))";
  return spawnSync(process.execPath, [...nodeImports, '-e', load], { cwd: repo }).status === 0;
}

/** The operator as a child process with the configuration file given; its log is kept for failures. */
export class OperatorProcess {
  log = '';
  private readonly child: ChildProcess;

  constructor(configPath: string, podName: string) {
    this.child = spawn(process.execPath, [...nodeImports, join(repo, 'operator/main.ts')], {
      cwd: repo,
      env: { ...process.env, KUBECONFIG: kubeconfig, SANDPOD_OPERATOR_CONFIG: configPath, POD_NAME: podName },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      this.log += chunk.toString();
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Ends it at once, as a node that dies or an OOM kill would: no shutdown of its own. */
  async kill(): Promise<void> {
    if (!this.running) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}
