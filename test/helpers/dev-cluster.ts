import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The dev cluster of `dev-cluster/up.sh` as every cluster suite reaches it: KUBECONFIG or
// .sandpod/kubeconfig, and the kubectl the cluster was started with.

export const repo = fileURLToPath(new URL('../../', import.meta.url));
export const repoPath = (relative: string) => new URL(relative, new URL('../../', import.meta.url)).pathname;
export const kubeconfigPath = process.env.KUBECONFIG ?? repoPath('.sandpod/kubeconfig');
export const kubectlPath = process.env.SANDPOD_KUBECTL ?? kubectlFromEnvFile() ?? 'kubectl';

function kubectlFromEnvFile(): string | undefined {
  const envFile = repoPath('.sandpod/bin.env');
  if (!existsSync(envFile)) return undefined;
  return /^SANDPOD_KUBECTL=(.+)$/m.exec(readFileSync(envFile, 'utf8'))?.[1];
}

/** Runs kubectl against the dev cluster; stdout and stderr together in `out`. */
export function kubectl(args: string[], input?: string): { ok: boolean; out: string } {
  const result = spawnSync(kubectlPath, args, {
    env: { ...process.env, KUBECONFIG: kubeconfigPath },
    input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { ok: result.status === 0, out: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/** Set by `make test`: a missing cluster fails the suite instead of skipping it. */
export const clusterRequired = () => process.env.SANDPOD_REQUIRE_CLUSTER === '1';

/**
 * A suite whose cluster (or node) is missing skips, saying why, unless SANDPOD_REQUIRE_CLUSTER=1
 * makes that a failure: CI that started a cluster must not pass by skipping every test.
 */
export function skipOrFail(context: Mocha.Context, why: string): never {
  if (clusterRequired()) throw new Error(`${why}, and SANDPOD_REQUIRE_CLUSTER=1 requires it`);
  process.stderr.write(`      skipped: ${why} (set SANDPOD_REQUIRE_CLUSTER=1 to make this a failure)\n`);
  context.skip();
}

/**
 * A chart suite on a dev cluster without the helm release (sandpod as local processes) skips,
 * saying why, unless SANDPOD_REQUIRE_RELEASE=1 (set by scripts/test-cluster.sh when it started the
 * cluster in helm mode) makes that a failure.
 */
export function skipWithoutRelease(context: Mocha.Context, what: string): never {
  const why = `${what}: the dev cluster runs sandpod as local processes (start it with SANDPOD_DEV_INSTALL=helm)`;
  if (process.env.SANDPOD_REQUIRE_RELEASE === '1') throw new Error(`${why}, and SANDPOD_REQUIRE_RELEASE=1 requires it`);
  process.stderr.write(`      skipped: ${why}\n`);
  context.skip();
}

/** Installs the CRDs (idempotent) and waits until the API server serves them. */
export function installCrds(): void {
  const applied = kubectl(['apply', '--server-side', '--force-conflicts', '-f', repoPath('manifests/crds/')]);
  if (!applied.ok) throw new Error(applied.out);
  const established = kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/executions.sandpod.dev',
    'crd/runtimes.sandpod.dev',
    'crd/warmpools.sandpod.dev',
  ]);
  if (!established.ok) throw new Error(established.out);
}
