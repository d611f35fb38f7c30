import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import {
  CHART_CRD_DIR,
  chartCrdFiles,
  MANIFEST_DIR,
  manifestFiles,
  readManifest,
  staleFiles,
} from '../../charts/manifests.js';
import { chartDir, helmPath, type K8sObject, objectKey, repoRoot } from '../../charts/render.js';
import { kubectlPath } from '../helpers/dev-cluster.js';
import { rendered } from './rendered.js';

// manifests/ is generated from the chart (make manifests): the committed files must be what the
// chart renders now, the chart's CRDs what the contract generates, its seccomp profile the one the
// embedded sandbox uses, and `kubectl kustomize manifests/` the same objects as the chart.

const stale = 'is stale: run make manifests';

describe('manifests generated from the chart', function () {
  this.timeout(900_000);
  let files: Map<string, string>;

  before(() => {
    helmPath();
    files = manifestFiles(rendered('manifests'));
  });

  it('should match every committed file under manifests/ when regenerated', () => {
    assert.ok(files.size > 10, `only ${files.size} files`);
    for (const [file, content] of files) assert.equal(readManifest(file), content, `manifests/${file} ${stale}`);
  });

  it('should leave no file the chart no longer makes in the generated folders', () => {
    assert.deepEqual(staleFiles(files), [], stale);
  });

  it("should keep the chart's crds/ equal to the contract's generated CRDs (and so to manifests/crds)", () => {
    for (const [name, content] of chartCrdFiles()) {
      assert.equal(readFileSync(`${CHART_CRD_DIR}${name}`, 'utf8'), content, `charts/sandpod/crds/${name} ${stale}`);
      assert.equal(readFileSync(`${MANIFEST_DIR}crds/${name}`, 'utf8'), content);
    }
  });

  it('should ship the seccomp profile of config/seccomp.json in the chart', () => {
    assert.equal(
      readFileSync(`${chartDir}/files/seccomp.json`, 'utf8'),
      readFileSync(`${repoRoot}config/seccomp.json`, 'utf8'),
      `charts/sandpod/files/seccomp.json ${stale}`,
    );
  });

  it('should keep the tenant files free of a namespace, for kubectl apply -n', () => {
    for (const [file, content] of files) {
      if (!file.startsWith('tenant/')) continue;
      for (const object of yaml.loadAll(content) as K8sObject[])
        assert.equal(object.metadata.namespace, undefined, file);
    }
  });

  it('should make kubectl kustomize manifests/ give the objects of the chart', () => {
    // make test hands over the pinned kubectl (SANDPOD_KUBECTL, from scripts/tool-path.sh).
    const built = spawnSync(kubectlPath, ['kustomize', MANIFEST_DIR], { encoding: 'utf8' });
    assert.equal(built.status, 0, `${kubectlPath} kustomize: ${built.error ?? built.stderr}`);
    const fromKustomize = (yaml.loadAll(built.stdout) as K8sObject[]).map(objectKey).sort();
    const fromChart = rendered('manifests')
      .map((document) => objectKey(document.object))
      .sort();
    assert.deepEqual(fromKustomize, fromChart);
  });
});
