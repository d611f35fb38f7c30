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
