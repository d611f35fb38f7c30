import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createNamespace,
  deleteNamespace,
  installCrds,
  kubeconfigPath,
  kubectl,
  nodeProblem,
  nodeSuiteTitle,
  type RunningOperator,
  repoPath,
  runtimeClassExists,
  runtimeNames,
  skipOrFail,
  startOperator,
} from '../helpers/cluster-suite.js';

// `kubectl sandpod` (dist/bin/kubectl-sandpod, `make build`) against the dev cluster: the
// operator started here watches a namespace of this run's own, which the plugin finds as the
// current context's namespace of a kubeconfig of its own, as a user's `kubectl config
// set-context --current --namespace` would set it.

const problem = nodeProblem();
const title = nodeSuiteTitle(
  problem,
  'kubectl sandpod on Kubernetes',
  'needs the dev cluster with a Ready node, starts the operator',
);
const namespace = `sandpod-kubectl-${process.pid}-${Date.now().toString(36)}`;
const PLUGIN = repoPath('dist/bin/kubectl-sandpod');

interface Answer {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe(title, function () {
  this.timeout(180_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'sandpod-kubectl-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  let operator: RunningOperator | undefined;

  const plugin = (args: string[], input = ''): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const child = spawn(PLUGIN, args, { env: { PATH: process.env.PATH, KUBECONFIG: kubeconfig }, cwd: dir });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (data: string) => {
        stdout += data;
      });
      child.stderr.setEncoding('utf8').on('data', (data: string) => {
        stderr += data;
      });
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(input);
    });

  const file = (name: string, content: string) => {
    writeFileSync(path.join(dir, name), content);
    return name;
  };

  const createdName = (answer: Answer) => {
    const name = /execution\.sandpod\.dev\/(\S+) created/.exec(answer.stderr)?.[1];
    assert.ok(name, answer.stderr);
    return name;
  };

  before(async function () {
    if (problem) skipOrFail(this, problem);
    installCrds();
    const present = new Set(runtimeNames());
    for (const manifest of readdirSync(repoPath('manifests/runtimes/'))) {
      if (present.has(manifest.replace(/\.yaml$/, ''))) continue;
      const created = kubectl(['create', '-f', repoPath(`manifests/runtimes/${manifest}`)]);
      if (!created.ok && !/AlreadyExists/.test(created.out)) throw new Error(created.out);
    }
    createNamespace(namespace);
    copyFileSync(kubeconfigPath, kubeconfig);
    const context = kubectl([
      'config',
      'set-context',
      '--current',
      `--namespace=${namespace}`,
      `--kubeconfig=${kubeconfig}`,
    ]);
    assert.ok(context.ok, context.out);
    operator = await startOperator(namespace, {
      pod: { runtimeClassName: runtimeClassExists('gvisor') ? 'gvisor' : '' },
    });
  });

  after(async () => {
    await operator?.stop();
    deleteNamespace(namespace);
    rmSync(dir, { recursive: true, force: true });
  });

  it('should create an Execution in the current namespace, pass a pipe as input, show the output and exit with the program\u2019s status', async () => {
    const program = file('shout.py', 'import sys\nprint(sys.stdin.read().strip().upper())\nsys.exit(3)\n');

    const answer = await plugin(['run', program], 'from a pipe\n');

    assert.equal(answer.code, 3, answer.stderr);
    assert.equal(answer.stdout, 'FROM A PIPE\n');
    const name = createdName(answer);
    assert.match(name, /^shout-/);
    assert.ok(kubectl(['get', 'ex', name, '-n', namespace]).ok, 'the Execution is in the context\u2019s namespace');
  });

  it('should print the result as JSON and pass arguments after --', async () => {
    const program = file('args.sh', 'echo "$@"\n');

    const answer = await plugin(['run', '--json', program, '--', 'one', 'two']);

    assert.equal(answer.code, 0, answer.stderr);
    const result = JSON.parse(answer.stdout) as { reason: string; stdout: string };
    assert.equal(result.reason, 'Completed');
    assert.equal(result.stdout, 'one two\n');
  });

  it('should follow a running Execution\u2019s pod with logs -f, and print a finished one\u2019s output with logs', async () => {
    const created = kubectl(
      ['create', '-n', namespace, '-o', 'jsonpath={.metadata.name}', '-f', '-'],
      JSON.stringify({
        apiVersion: 'sandpod.dev/v1alpha1',
        kind: 'Execution',
        metadata: { generateName: 'ticks-' },
        spec: {
          runtime: 'python',
          source: 'import time\nfor i in range(5):\n    print("tick", i, flush=True)\n    time.sleep(0.5)\n',
        },
      }),
    );
    assert.ok(created.ok, created.out);
    const name = created.out.trim();

    const followed = await plugin(['logs', '-f', name]);
    const printed = await plugin(['logs', name]);
    const shown = await plugin(['get', name]);

    const ticks = 'tick 0\ntick 1\ntick 2\ntick 3\ntick 4\n';
    assert.equal(followed.code, 0, followed.stderr);
    assert.equal(followed.stdout, ticks);
    assert.equal(printed.stdout, ticks);
    assert.match(shown.stdout, new RegExp(`^${name}\\s+python\\s+Succeeded\\s+Completed\\s+0`, 'm'));
  });

  it('should cancel a running Execution when asked, and run ends with exit 130', async () => {
    const program = file('sleepy.py', 'import time\nprint("started", flush=True)\ntime.sleep(120)\n');
    const running = plugin(['run', program]);
    let name: string | undefined;
    for (let attempt = 0; attempt < 300 && !name; attempt += 1) {
      const listed = kubectl(['get', 'ex', '-n', namespace, '-o', 'jsonpath={.items[?(@.spec.source)].metadata.name}']);
      name = listed.out.split(/\s+/).find((each) => each.startsWith('sleepy-'));
      if (!name) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(name, 'the run created its Execution');

    const cancelled = await plugin(['cancel', name]);
    const answer = await running;

    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.equal(answer.code, 130, answer.stderr);
    assert.match(answer.stderr, /kubectl-sandpod: Cancelled/);
  });

  it('should exit 65 and say so when the Execution does not exist', async () => {
    const answer = await plugin(['get', 'no-such-execution']);

    assert.equal(answer.code, 65);
    assert.match(answer.stderr, /not found/);
  });
});
