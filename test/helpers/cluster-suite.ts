import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { clusterRequired, kubeconfigPath, kubectl } from './dev-cluster.js';
import { startLocal } from './local-process.js';

// The dev cluster of `dev-cluster/up.sh`, reused as it is: KUBECONFIG or .sandpod/kubeconfig, and
// its kubectl. Nothing here starts a cluster; whoever runs the suite decides that. Every object a
// test run makes lives in a namespace of its own (or is named after the run), deleted at the end.

export { installCrds, kubeconfigPath, kubectl, repoPath, skipOrFail, skipWithoutRelease } from './dev-cluster.js';

/**
 * Why the dev cluster cannot be used, or undefined when its API server answers. Suites then skip
 * with the reason in their title, except under SANDPOD_REQUIRE_CLUSTER=1 (make test), where a
 * missing cluster is an error.
 */
export function clusterProblem(): string | undefined {
  const problem = findClusterProblem();
  return problem && required(problem);
}

function findClusterProblem(): string | undefined {
  if (!existsSync(kubeconfigPath)) return `no kubeconfig at ${kubeconfigPath} (start it with dev-cluster/up.sh)`;
  const ready = kubectl(['get', '--raw', '/readyz']);
  return ready.ok ? undefined : `the API server of ${kubeconfigPath} does not answer: ${ready.out.trim()}`;
}

function required(problem: string): string {
  if (clusterRequired()) throw new Error(`SANDPOD_REQUIRE_CLUSTER=1, but ${problem}`);
  return problem;
}

/** Whether a node is Ready, so pods can run (else only the control plane is tested). */
export function nodeReady(): boolean {
  const ready = findNodeReady();
  if (!ready) required('the dev cluster has no Ready node');
  return ready;
}

/** Why no pod can run here, for suites that need the node as well as the control plane. */
export function nodeProblem(): string | undefined {
  return clusterProblem() ?? (nodeReady() ? undefined : 'the dev cluster has no Ready node, so no pod can run');
}

/** A suite's title: what it tests and what it needs, or why it skips, so the reason is seen. */
export function nodeSuiteTitle(problem: string | undefined, name: string, needs: string): string {
  return problem ? `${name} — SKIPPED, NO CLUSTER OR NODE: ${problem}` : `${name} (${needs})`;
}

function findNodeReady(): boolean {
  const nodes = kubectl([
    'get',
    'nodes',
    '-o',
    'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
  ]);
  return nodes.ok && nodes.out.split('\n').includes('True');
}

export function loadKubeConfig(): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  return kubeConfig;
}

export function createNamespace(name: string): void {
  const created = kubectl(['create', 'namespace', name]);
  if (!created.ok) throw new Error(created.out);
}

export function deleteNamespace(name: string): void {
  kubectl(['delete', 'namespace', name, '--wait=false', '--ignore-not-found']);
}

export interface RunningOperator {
  /** Everything the operator logged, for a failed test's message. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts operator/main.ts as a child process watching one namespace, without leader election
 * (another operator elsewhere may hold the Lease) and with `policy` over its defaults; `env` over
 * the environment (a KUBECONFIG aimed elsewhere, say).
 */
export async function startOperator(
  namespace: string,
  policy: Record<string, unknown>,
  env: NodeJS.ProcessEnv = {},
): Promise<RunningOperator> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sandpod-operator-test-'));
  const configPath = path.join(dir, 'operator.yaml');
  writeFileSync(
    configPath,
    yaml.dump({
      watchNamespace: namespace,
      leaderElection: { enabled: false },
      metrics: { host: '127.0.0.1', port: 0 },
      shutdownGraceMs: 2_000,
      ...policy,
    }),
  );
  const operator = await startLocal(
    'operator/main.ts',
    { KUBECONFIG: kubeconfigPath, SANDPOD_OPERATOR_CONFIG: configPath, LOG_LEVEL: 'debug', ...env },
    /Synced caches/,
    60_000,
  ).catch((error: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  return {
    output: operator.output,
    stop: async () => {
      await operator.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Names of the Runtime objects in the cluster. */
export function runtimeNames(): string[] {
  const listed = kubectl(['get', 'runtimes.sandpod.dev', '-o', 'jsonpath={.items[*].metadata.name}']);
  return listed.ok ? listed.out.split(/\s+/).filter(Boolean) : [];
}

/** Whether the RuntimeClass exists, so pods can ask for it. */
export function runtimeClassExists(name: string): boolean {
  return kubectl(['get', 'runtimeclass', name]).ok;
}

/** Runtimes (of `names`) whose image no node has: their pods cannot start where pulls are impossible. */
export function runtimesWithoutImages(names: string[]): string[] {
  const images = kubectl(['get', 'nodes', '-o', 'jsonpath={.items[*].status.images[*].names[*]}']);
  const onNodes = new Set(images.ok ? images.out.split(/\s+/) : []);
  return names.filter((name) => {
    const image = kubectl(['get', 'runtimes.sandpod.dev', name, '-o', 'jsonpath={.spec.image}']);
    return !image.ok || !onNodes.has(image.out.trim());
  });
}
