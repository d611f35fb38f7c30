import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { helm, helmPath } from '../../charts/render.js';
import {
  kubeconfigPath,
  kubectl,
  nodeProblem,
  nodeSuiteTitle,
  repoPath,
  skipOrFail,
  skipWithoutRelease,
} from '../helpers/cluster-suite.js';

// The dev cluster installed as a platform team installs sandpod (SANDPOD_DEV_INSTALL=helm,
// dev-cluster/helm-install.sh): release `sandpod` in sandpod-system, the operator and gateway as
// pods of the image images/build.sh built, the gateway's Service on 127.0.0.1:8081. On a dev
// cluster that runs them as local processes (the default) there is no release to test: the suite
// says so and is skipped (pending, never passing).

const release = 'sandpod';
const namespace = 'sandpod-system';
const gatewayUrl = `http://127.0.0.1:${process.env.SANDPOD_DEV_GATEWAY_PORT ?? '8081'}`;
const problem = nodeProblem();
const title = nodeSuiteTitle(
  problem,
  'the helm-installed release',
  'needs the dev cluster started with SANDPOD_DEV_INSTALL=helm',
);

interface PodList {
  items: {
    metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
    spec: { containers: { image: string }[] };
    status: { conditions?: { type: string; status: string }[]; phase?: string };
  }[];
}

function h(args: string[]) {
  return helm([...args, '--kubeconfig', kubeconfigPath]);
}

function podsOf(component: string): PodList['items'] {
  const read = kubectl([
    'get',
    'pods',
    '-n',
    namespace,
    '-l',
    `app.kubernetes.io/component=${component},app.kubernetes.io/instance=${release}`,
    '-o',
    'json',
  ]);
  assert.ok(read.ok, read.out);
  // Pods of a finished rollout may still be terminating; only the ones that stay count.
  return (JSON.parse(read.out) as PodList).items.filter((pod) => !pod.metadata.deletionTimestamp);
}

const isReady = (pod: PodList['items'][number]) =>
  pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

function releaseDigest(): string {
  const values = h(['get', 'values', release, '-n', namespace, '-o', 'json']);
  assert.ok(values.ok, values.stderr);
  const digest = (JSON.parse(values.stdout) as { images?: { digest?: string } }).images?.digest;
  assert.ok(digest, 'the release sets no images.digest');
  return digest;
}

async function api(
  pathname: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const token = readFileSync(repoPath('.sandpod/token'), 'utf8').trim();
  const response = await fetch(`${gatewayUrl}/api/v1${pathname}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The result of an execution once terminal; connection errors while pods roll are retried. */
async function finalResult(id: string, deadline: number): Promise<Record<string, unknown>> {
  let last = '';
  while (Date.now() < deadline) {
    try {
      const { status, body } = await api(`/executions/${id}`);
      if (status === 200 && (body.phase === 'Succeeded' || body.phase === 'Failed')) return body;
      last = `${status} ${JSON.stringify(body)}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`execution ${id} did not finish: ${last}`);
}

/** Waits until the rollout of both Deployments is complete. */
function rolledOut(): void {
  for (const component of ['operator', 'gateway']) {
    const status = kubectl([
      'rollout',
      'status',
      `deployment/${release}-${component}`,
      '-n',
      namespace,
      '--timeout=300s',
    ]);
    assert.ok(status.ok, status.out);
  }
}

describe(title, function () {
  this.timeout(900_000);
  let originalDigest = '';

  before(function () {
    if (problem) skipOrFail(this, problem);
    helmPath();
    const status = h(['status', release, '-n', namespace]);
    if (!status.ok) skipWithoutRelease(this, `no release ${release} in ${namespace}`);
    originalDigest = releaseDigest();
  });

  it('should run two operator and two gateway pods, Ready, from the built image', () => {
    for (const component of ['operator', 'gateway']) {
      const pods = podsOf(component).filter((pod) => pod.status.phase === 'Running');
      assert.equal(pods.length, 2, `${component}: ${pods.map((p) => p.metadata.name).join(', ')}`);
      for (const pod of pods) {
        assert.ok(isReady(pod), `${pod.metadata.name} is not Ready`);
        assert.equal(pod.spec.containers[0]?.image, `sandpod.local/sandpod@${originalDigest}`);
      }
    }
  });

  it('should pass helm test when the release is installed', () => {
    const result = h(['test', release, '-n', namespace, '--logs', '--timeout', '3m']);
    assert.ok(result.ok, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /ok: the execution ran and printed what it should/);
  });

  it('should lose no execution when helm upgrade changes the image while executions run', async () => {
    const changed = execFileSync(repoPath('dev-cluster/images/relabel-sandpod.sh'), [`${process.pid}`], {
      encoding: 'utf8',
    }).trim();
    assert.match(changed, /^sha256:[0-9a-f]{64}$/);
    assert.notEqual(changed, originalDigest);
    const count = 6;
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const { status, body } = await api('/executions', {
        method: 'POST',
        body: JSON.stringify({
          runtime: 'python',
          source: `import time\ntime.sleep(6)\nprint("in flight ${i}")`,
          limits: { wallTimeMs: 60_000 },
        }),
      });
      assert.equal(status, 202, JSON.stringify(body));
      ids.push(String(body.id));
    }
    try {
      const upgrade = h([
        'upgrade',
        release,
        repoPath('charts/sandpod'),
        '-n',
        namespace,
        '--reuse-values',
        '--set',
        `images.digest=${changed}`,
        '--wait',
        '--timeout',
        '4m',
      ]);
      assert.ok(upgrade.ok, upgrade.stderr);
      rolledOut();
      for (const component of ['operator', 'gateway']) {
        const images = podsOf(component)
          .filter((pod) => pod.status.phase === 'Running')
          .map((pod) => pod.spec.containers[0]?.image);
        assert.deepEqual(images, [`sandpod.local/sandpod@${changed}`, `sandpod.local/sandpod@${changed}`]);
      }
      const deadline = Date.now() + 300_000;
      const results = await Promise.all(ids.map((id) => finalResult(id, deadline)));
      results.forEach((result, i) => {
        assert.equal(result.reason, 'Completed', `${ids[i]}: ${JSON.stringify(result)}`);
        assert.equal(result.stdout, `in flight ${i}\n`);
      });
    } finally {
      const back = h([
        'upgrade',
        release,
        repoPath('charts/sandpod'),
        '-n',
        namespace,
        '--reuse-values',
        '--set',
        `images.digest=${originalDigest}`,
        '--wait',
        '--timeout',
        '4m',
      ]);
      assert.ok(back.ok, back.stderr);
    }
  });
});
