import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultKubeConfig } from '../../../gateway/kubernetes/index.js';

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: 'https://127.0.0.1:7443' } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
`;

describe('defaultKubeConfig', () => {
  it('should load the file KUBECONFIG names', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sandpod-kubeconfig-'));
    try {
      const file = path.join(dir, 'config');
      writeFileSync(file, KUBECONFIG);

      const kubeConfig = defaultKubeConfig({ KUBECONFIG: file });

      assert.equal(kubeConfig.getCurrentCluster()?.server, 'https://127.0.0.1:7443');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('should say what is missing when there are no credentials at all', () => {
    const emptyHome = mkdtempSync(path.join(tmpdir(), 'sandpod-home-'));
    try {
      // The places a real gateway would look are passed in: a pod's token must not make this pass.
      const places = { home: emptyHome, serviceAccountToken: path.join(emptyHome, 'no-token') };
      assert.throws(() => defaultKubeConfig({}, places), /no Kubernetes credentials: set KUBECONFIG/);
    } finally {
      rmSync(emptyHome, { recursive: true, force: true });
    }
  });
});
