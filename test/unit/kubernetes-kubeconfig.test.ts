import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultKubeConfig } from '../../gateway/kubernetes/index.js';

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

  it('should say what is missing when there are no credentials at all', function () {
    // Only a pod has a service-account token there; in one, credentials do exist and this cannot hold.
    if (existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) {
      process.stderr.write('      skipped: running in a pod, which has a service-account token\n');
      this.skip();
    }
    const home = process.env.HOME;
    const emptyHome = mkdtempSync(path.join(tmpdir(), 'sandpod-home-'));
    process.env.HOME = emptyHome;
    try {
      assert.throws(() => defaultKubeConfig({}), /no Kubernetes credentials: set KUBECONFIG/);
    } finally {
      process.env.HOME = home;
      rmSync(emptyHome, { recursive: true, force: true });
    }
  });
});
