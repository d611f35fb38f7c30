import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { clusterReachable, installCrds, kubectl, skipOrFail } from './cluster.js';

// Needs a control plane: the dev cluster of `make dev-cluster` (KUBECONFIG, or .sandpod/kubeconfig)
// and a kubectl (SANDPOD_KUBECTL, or kubectl on PATH). It installs the CRDs, then checks with the
// real API server that good Executions pass and bad ones are refused with a clear message. Every
// object it creates lives in a namespace of its own, deleted at the end.

const repo = new URL('../../', import.meta.url);
const namespace = `sandpod-crd-test-${process.pid}`;

const execution = (name: string, spec: Record<string, unknown>) =>
  JSON.stringify({ apiVersion: 'sandpod.dev/v1alpha1', kind: 'Execution', metadata: { name, namespace }, spec });

const dryRun = (body: string) => kubectl(['create', '--dry-run=server', '-f', '-'], body);

describe('Execution and Runtime CRDs on the dev cluster (needs a control plane)', function () {
  this.timeout(120_000);

  before(function () {
    if (!clusterReachable()) skipOrFail(this, 'no API server answers (dev-cluster/up.sh)');
    installCrds();
    assert.ok(kubectl(['create', 'namespace', namespace]).ok);
  });

  after(() => {
    if (clusterReachable()) kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
  });

  it('should accept every default Runtime when applied (dry run)', () => {
    const result = kubectl(['apply', '--dry-run=server', '-f', new URL('manifests/runtimes/', repo).pathname]);
    assert.ok(result.ok, result.out);
  });

  for (const file of readdirSync(new URL('manifests/samples/', repo))) {
    it(`should accept samples/${file} when created (dry run)`, () => {
      const sample = yaml.load(readFileSync(new URL(`manifests/samples/${file}`, repo), 'utf8')) as {
        metadata: { name: string };
        spec: Record<string, unknown>;
      };
      const result = dryRun(execution(sample.metadata.name, sample.spec));
      assert.ok(result.ok, result.out);
    });
  }

  const refused: [string, string, Record<string, unknown>, RegExp][] = [
    [
      'both source and files',
      'both',
      { runtime: 'python', source: 'x', files: [{ name: 'a.py', content: '' }] },
      /exactly one of source or files/,
    ],
    ['neither source nor files', 'neither', { runtime: 'python' }, /exactly one of source or files/],
    [
      'a file name climbing out',
      'climb',
      { runtime: 'python', files: [{ name: '../x', content: '' }] },
      /files\[0\]\.name/,
    ],
    [
      'two files of one name',
      'dup',
      {
        runtime: 'python',
        files: [
          { name: 'a.py', content: '' },
          { name: 'a.py', content: '' },
        ],
      },
      /Duplicate value/,
    ],
    ['a zero memory limit', 'zero', { runtime: 'python', source: 'x', limits: { memoryMiB: 0 } }, /memoryMiB/],
    [
      'a memory limit past the absolute bound',
      'huge',
      { runtime: 'python', source: 'x', limits: { memoryMiB: 1_000_000 } },
      /memoryMiB/,
    ],
    ['too many args', 'args', { runtime: 'python', source: 'x', args: Array.from({ length: 65 }, () => 'a') }, /args/],
  ];
  for (const [what, name, spec, message] of refused) {
    it(`should refuse ${what} with a message naming the problem`, () => {
      const result = dryRun(execution(name, spec));
      assert.equal(result.ok, false, 'the API server accepted it');
      assert.match(result.out, message);
    });
  }

  it('should refuse a name longer than a label value', () => {
    const result = dryRun(execution('x'.repeat(64), { runtime: 'python', source: 'x' }));
    assert.equal(result.ok, false);
    assert.match(result.out, /at most 63 characters/);
  });

  it('should let only cancel and the TTL change after creation, and never undo cancel', () => {
    const created = kubectl(['create', '-f', '-'], execution('mutable', { runtime: 'python', source: 'print(1)' }));
    assert.ok(created.ok, created.out);
    const patch = (body: unknown, dry = true) =>
      kubectl([
        'patch',
        '-n',
        namespace,
        'execution/mutable',
        '--type=merge',
        '-p',
        JSON.stringify(body),
        ...(dry ? ['--dry-run=server'] : []),
      ]);
    const changedSource = patch({ spec: { source: 'print(2)' } });
    assert.equal(changedSource.ok, false);
    assert.match(changedSource.out, /immutable/);
    const addedStdin = patch({ spec: { stdin: 'x' } });
    assert.equal(addedStdin.ok, false);
    assert.ok(patch({ spec: { ttlSecondsAfterFinished: 60 } }).ok);
    const cancelled = patch({ spec: { cancel: true } }, false);
    assert.ok(cancelled.ok, cancelled.out);
    const undone = patch({ spec: { cancel: false } });
    assert.equal(undone.ok, false);
    assert.match(undone.out, /cancel cannot be undone/);
  });

  it('should show the contract columns in kubectl get ex', () => {
    const result = kubectl(['get', 'ex', '-n', namespace]);
    assert.ok(result.ok, result.out);
    assert.match(result.out.split('\n')[0] ?? '', /^NAME\s+RUNTIME\s+PHASE\s+REASON\s+EXIT\s+DURATION\s+TESTS\s+AGE/);
  });
});
